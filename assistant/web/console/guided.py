"""(Being written: see the console brief.)"""
