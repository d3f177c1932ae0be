module github.com/wotgen/wotgen/testdata

go 1.26.0

require github.com/wotgen/wotgen v0.0.0

require (
	github.com/coder/websocket v1.8.15 // indirect
	github.com/santhosh-tekuri/jsonschema/v5 v5.3.1 // indirect
)

replace github.com/wotgen/wotgen => ../
