module github.com/wotgen/wotgen/testdata

go 1.26.0

require github.com/wotgen/wotgen v0.0.0

replace github.com/wotgen/wotgen => ../
