"""An InteractiveSession with Tensor.eval() and Operation.run()."""
import tensorflow as tf

sess = tf.InteractiveSession()
v = tf.Variable(2.0, name="v")
doubled = v * 2.0
tf.global_variables_initializer().run()
print("eval", doubled.eval())
tf.assign(v, 5.0).op.run()
print("after assign", v.eval(), doubled.eval())
print("default session", tf.get_default_session() is sess, isinstance(sess, tf.InteractiveSession))
sess.close()
