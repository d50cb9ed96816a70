// Command mail_exporter probes mail servers and mail DNS records and
// exposes the results as Prometheus metrics. See README.md and SPEC.
package main

import (
	"fmt"
	"os"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web/kingpinflag"
)

// defaultPort is the exporter's documented default listen port.
const defaultPort = "9745"

func main() {
	os.Exit(run(os.Args[1:]))
}

// run parses the command line and runs the chosen command, returning the
// process exit code. It takes its arguments so that tests can call it.
func run(args []string) int {
	app := kingpin.New("mail_exporter", "Probes SMTP, IMAP and POP3 endpoints and mail DNS records; exposes the results to Prometheus.")
	app.Version(version.Print("mail_exporter"))
	app.HelpFlag.Short('h')

	serve := app.Command("serve", "Run the exporter (the default).").Default()
	sf := serveFlags{
		configFile:  serve.Flag("config.file", "Path to targets.yaml.").Default("targets.yaml").String(),
		configCheck: serve.Flag("config.check", "Validate the config file and exit: 0 valid, 1 with the errors.").Bool(),
		logLevel:    serve.Flag("log.level", "Log level: debug, info, warn, error.").Default("info").Enum("debug", "info", "warn", "error"),
		logFormat:   serve.Flag("log.format", "Log format: console, logfmt, json.").Default("console").Enum("console", "logfmt", "json"),
		shardCount:  serve.Flag("shard.count", "Split the checks between this many replicas.").Default("1").Int(),
		shardIndex:  serve.Flag("shard.index", "This replica's shard, 0 to shard.count-1; a StatefulSet pod name such as mail-exporter-2 is accepted.").Default("0").String(),
	}
	sf.web = kingpinflag.AddFlags(serve, ":"+defaultPort)
	check, cf := addCheckCommand(app)

	cmd, err := app.Parse(args)
	if err != nil {
		fmt.Fprintf(os.Stderr, "mail_exporter: %v\n", err)
		return 2
	}
	switch cmd {
	case serve.FullCommand():
		return runServe(sf)
	case check.FullCommand():
		return runCheck(cf, os.Stdout, os.Stderr)
	}
	return 2
}
