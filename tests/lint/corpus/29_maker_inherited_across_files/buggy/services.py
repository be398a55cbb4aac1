from modules import Module


class ServiceModule(Module):
    name = "services"
