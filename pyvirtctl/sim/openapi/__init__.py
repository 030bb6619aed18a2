"""OpenAPI for the simulator: a type model of the kinds it serves (`model`, `core`, `kubevirt`), the
v2/v3 documents built from it (`documents`, `protobuf`) and the strict field check (`validate`)."""
