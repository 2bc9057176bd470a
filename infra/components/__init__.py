"""The parts of the loop, one construct each: its resources, its functions with their settings,
its grants and its cdk-nag acknowledgments. `infra/stacks/mlops_stack.py` composes them."""
