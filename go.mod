module github.com/wotgen/wotgen

go 1.26
