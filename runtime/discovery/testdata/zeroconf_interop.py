# Interop peer for the DNS-SD tests: python-zeroconf announces a WoT Thing ("announce", until
# stdin closes) or browses a service type and prints each instance it resolves as JSON ("browse").
import json, socket, sys, time
from zeroconf import Zeroconf, ServiceInfo, ServiceBrowser, ServiceStateChange

mode = sys.argv[1]
zc = Zeroconf(interfaces=["127.0.0.1"])
if mode == "announce":
    info = ServiceInfo("_wot._tcp.local.", "PyLamp._wot._tcp.local.", port=9000,
                       properties={"td": "/things/pylamp", "type": "Thing", "scheme": "http"},
                       server="pyhost.local.", addresses=[socket.inet_aton("127.0.0.1")])
    zc.register_service(info)
    print("registered", flush=True)
    sys.stdin.read()
    zc.unregister_service(info)
elif mode == "browse":
    service = sys.argv[2]
    found = {}
    def on_change(zeroconf, service_type, name, state_change):
        if state_change is ServiceStateChange.Added:
            found[name] = service_type
    ServiceBrowser(zc, service, handlers=[on_change])
    deadline = time.time() + 10
    while not found and time.time() < deadline:
        time.sleep(0.05)
    for name in found:
        info = zc.get_service_info("_wot._tcp.local.", name, timeout=3000)
        if info is None:
            print(json.dumps({"name": name, "error": "unresolved"}), flush=True); continue
        print(json.dumps({"name": name, "port": info.port, "server": info.server,
            "addresses": [socket.inet_ntoa(a) for a in info.addresses],
            "txt": {k.decode(): (v.decode() if v is not None else None) for k, v in info.properties.items()}}), flush=True)
zc.close()
