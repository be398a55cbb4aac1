"""Example apps that show the regression pack porting to code other than the reference app."""
