"""Flow files: format (:mod:`.schema`), loading and checks (:mod:`.load`, :mod:`.graph`), and
the immutable runtime model (:mod:`.model`)."""

from .load import (
                   FlowError,
                   FlowProblem,
                   flow_files,
                   is_flow_file,
                   load_flow,
                   load_flows,
                   parse_flow,
)
from .model import Answer, Branch, Cause, Flow, Step
from .schema import flow_json_schema

__all__ = ["Answer", "Branch", "Cause", "Flow", "FlowError", "FlowProblem", "Step",
           "flow_files", "flow_json_schema", "is_flow_file", "load_flow", "load_flows",
           "parse_flow"]
