module github.com/wotgen/wotgen

go 1.26

require (
	github.com/coder/websocket v1.8.15
	github.com/santhosh-tekuri/jsonschema/v5 v5.3.1
)
