# graphmode.cluster's public names, each once: lazy_loader reads this file at run time, type checkers too.

from .description import ClusterDescription as ClusterDescription
from .description import TaskId as TaskId
from .description import cluster_from_addresses as cluster_from_addresses
from .description import cluster_from_tf_config as cluster_from_tf_config
from .description import describe_cluster as describe_cluster
from .description import free_ports as free_ports
from .processes import TaskProcess as TaskProcess
from .processes import TaskProcesses as TaskProcesses
from .servers import LocalCluster as LocalCluster
from .servers import placement_by_task as placement_by_task
from .servers import run_with_placement as run_with_placement
from .servers import start_local_cluster as start_local_cluster
from .servers import start_server as start_server
from .servers import task_of_device as task_of_device
from .servers import variable_placement as variable_placement
from .servers import wait_for_variables as wait_for_variables
