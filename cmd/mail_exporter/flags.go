package main

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/prometheus/exporter-toolkit/web"

	"github.com/mail-exporter/mail_exporter/collector"
)

// errFlag marks a serve flag that cannot work.
var errFlag = errors.New("bad flag")

// checkServeFlags runs every check of the serve flags that needs no
// network: the shard range, the listen addresses, the web config file.
// Serving and --config.check run the same checks, so a command line that
// passes --config.check does not refuse to serve for a flag.
func checkServeFlags(f serveFlags) (collector.Shard, []error) {
	var errs []error
	shard, err := parseShard(*f.shardCount, *f.shardIndex)
	if err != nil {
		errs = append(errs, err)
	}
	if !*f.web.WebSystemdSocket {
		if len(*f.web.WebListenAddresses) == 0 {
			errs = append(errs, fmt.Errorf("%w: no --web.listen-address", errFlag))
		}
		for _, a := range *f.web.WebListenAddresses {
			if err := checkListenAddress(a); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if p := *f.web.WebConfigFile; p != "" {
		if _, err := os.Stat(p); err != nil {
			errs = append(errs, fmt.Errorf("%w: --web.config.file: %v", errFlag, err))
		} else if err := web.Validate(p); err != nil {
			errs = append(errs, fmt.Errorf("%w: --web.config.file %s: %v", errFlag, p, err))
		}
	}
	return shard, errs
}

// checkListenAddress accepts what net.Listen("tcp", a) and the toolkit's
// vsock:// form accept, without listening or resolving anything.
func checkListenAddress(a string) error {
	bad := func(why string) error {
		return fmt.Errorf("%w: --web.listen-address %q: %s", errFlag, a, why)
	}
	if strings.HasPrefix(a, "vsock://") {
		u, err := url.Parse(a)
		if err != nil {
			return bad(err.Error())
		}
		_, p, err := net.SplitHostPort(u.Host)
		if err != nil {
			return bad(err.Error())
		}
		if _, err := strconv.ParseUint(p, 10, 32); err != nil {
			return bad("port " + strconv.Quote(p) + " is not a number")
		}
		return nil
	}
	_, p, err := net.SplitHostPort(a)
	if err != nil {
		return bad(strings.TrimPrefix(err.Error(), "address "+a+": ") + " (want HOST:PORT or :PORT)")
	}
	if n, err := strconv.Atoi(p); err == nil {
		if n < 0 || n > 65535 {
			return bad("port " + p + " is out of range 0-65535")
		}
		return nil
	}
	if _, err := net.LookupPort("tcp", p); err != nil { // a service name, from /etc/services
		return bad("port " + strconv.Quote(p) + " is neither a number nor a service name")
	}
	return nil
}
