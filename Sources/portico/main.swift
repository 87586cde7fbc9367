import ArgumentParser
import Hummingbird
import HummingbirdBcrypt
import PorticoWeb
print("bootstrap")
