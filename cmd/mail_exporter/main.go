// Command mail_exporter probes mail servers and mail DNS records and
// exposes the results as Prometheus metrics. See README.md and SPEC.
package main

import (
	"fmt"
	"os"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/exporter-toolkit/web/kingpinflag"
)

// defaultPort is the exporter's documented default listen port.
const defaultPort = "9745"

func main() {
	setVersion()
	os.Exit(run(os.Args[1:]))
}

// run parses the command line and runs the chosen command, returning the
// process exit code. It takes its arguments so that tests can call it.
//
// Serving is the program itself, as in blackbox_exporter: its flags belong
// to the application, so `mail_exporter --help` (and --help-man) lists
// them all. `check` is a separate application of its own, so that
// `check --help` shows only its flags and the serve flags do not leak into
// it. `serve` as a first word is still accepted.
func run(args []string) int {
	if len(args) > 0 {
		switch args[0] {
		case "check":
			return runCheckApp(args[1:])
		case "serve":
			args = args[1:]
		case "help": // kingpin's help command, kept for old habits
			if len(args) > 1 && args[1] == "check" {
				return runCheckApp([]string{"--help"})
			}
			args = []string{"--help"}
		}
	}
	app := kingpin.New("mail_exporter", "Probes SMTP, IMAP and POP3 endpoints and mail DNS records; exposes the results to Prometheus.\n\n"+
		"To check one domain, one server or a config file once from a terminal, run `mail_exporter check --help`.")
	app.Version(versionText())
	app.HelpFlag.Short('h')
	app.UsageWriter(os.Stdout)
	sf := addServeFlags(app)
	if _, err := app.Parse(args); err != nil {
		fmt.Fprintf(os.Stderr, "mail_exporter: %v\n", err)
		return 2
	}
	return runServe(sf)
}

// runCheckApp parses and runs `mail_exporter check`.
func runCheckApp(args []string) int {
	app := kingpin.New("mail_exporter check", checkHelp)
	app.Version(versionText())
	app.HelpFlag.Short('h')
	app.UsageWriter(os.Stdout)
	cf := addCheckFlags(app)
	if _, err := app.Parse(args); err != nil {
		fmt.Fprintf(os.Stderr, "mail_exporter check: %v\n", err)
		return 2
	}
	return runCheck(cf, os.Stdout, os.Stderr)
}

// addServeFlags declares the flags of SPEC section 5 on the application.
func addServeFlags(app *kingpin.Application) serveFlags {
	sf := serveFlags{
		configFile:  app.Flag("config.file", "Path to targets.yaml.").Default("targets.yaml").String(),
		configCheck: app.Flag("config.check", "Validate the config file and the other flags, then exit: 0 valid, 1 with the errors.").Bool(),
		logLevel:    app.Flag("log.level", "Log level: debug, info, warn, error.").Default("info").Enum("debug", "info", "warn", "error"),
		logFormat:   app.Flag("log.format", "Log format: console, logfmt, json.").Default("console").Enum("console", "logfmt", "json"),
		shardCount:  app.Flag("shard.count", "Split the checks between this many replicas.").Default("1").Int(),
		shardIndex:  app.Flag("shard.index", "This replica's shard, 0 to shard.count-1; a StatefulSet pod name such as mail-exporter-2 is accepted.").Default("0").String(),
	}
	sf.web = kingpinflag.AddFlags(app, ":"+defaultPort)
	return sf
}
