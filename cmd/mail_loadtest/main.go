// Command mail_loadtest measures mail_exporter under load against a cheap
// fake mail farm on loopback, next to two baselines doing the same
// dialogue: a minimal Go client (the floor) and blackbox_exporter.
//
//	mail_loadtest run --exporter=./mail_exporter [flags]   the measurement (default)
//	mail_loadtest farm --dir=DIR --listeners=N             the fake farm (started by run)
//	mail_loadtest floor --farm=DIR/farm.json ...           the floor baseline (started by run)
//	mail_loadtest real --exporter=... --peers=peers.json   the default schedule against real Dovecot
//
// See README.md in this directory.
package main

import (
	"fmt"
	"os"
)

func main() {
	args := os.Args[1:]
	cmd := "run"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "run":
		os.Exit(runLoad(args))
	case "farm":
		os.Exit(runFarm(args))
	case "floor":
		os.Exit(runFloor(args))
	case "real":
		os.Exit(runReal(args))
	default:
		fmt.Fprintf(os.Stderr, "mail_loadtest: unknown command %q (run, farm, floor, real)\n", cmd)
		os.Exit(2)
	}
}
