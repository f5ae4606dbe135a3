"""(capabilities of this family: being written)"""
