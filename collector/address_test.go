package collector

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mail-exporter/mail_exporter/collector/config"
)

// switchResolver answers with whatever the test set last.
type switchResolver struct {
	mu    sync.Mutex
	addrs []netip.Addr
	err   error
}

func (r *switchResolver) set(err error, addrs ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.err, r.addrs = err, nil
	for _, a := range addrs {
		r.addrs = append(r.addrs, netip.MustParseAddr(a))
	}
}

func (r *switchResolver) LookupNetIP(context.Context, string, string) ([]netip.Addr, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.addrs, r.err
}

// addrExporter runs one endpoint on a closed port of a host resolved by res.
func addrExporter(t *testing.T, res *switchResolver, rule string) (*Exporter, *endpointCheck) {
	t.Helper()
	y := "servers:\n  - {name: mx, host: mx.example.test, " + rule + "endpoints: [{name: smtp, port: 9}]}\n"
	cfg, err := config.Parse([]byte(y), "targets.yaml")
	if err != nil {
		t.Fatal(err)
	}
	e := New(Options{Resolver: res})
	if err := e.ApplyConfig(cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Stop)
	c, _ := e.lookup(EndpointID("mx", "smtp"))
	return e, c.(*endpointCheck)
}

// addressSeries lists "address family result" of every mail_probe_result_info
// series, sorted, and the summary as "n/up".
func addressSeries(t *testing.T, e *Exporter) ([]string, string) {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(e)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	n, up := "-", "-"
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			l := map[string]string{}
			for _, p := range m.GetLabel() {
				l[p.GetName()] = p.GetValue()
			}
			switch mf.GetName() {
			case "mail_probe_result_info":
				out = append(out, l["address"]+" "+l["family"]+" "+l["result"])
			case "mail_probe_addresses":
				n = strconv.FormatFloat(m.GetGauge().GetValue(), 'f', -1, 64)
			case "mail_probe_addresses_up":
				up = strconv.FormatFloat(m.GetGauge().GetValue(), 'f', -1, 64)
			}
		}
	}
	slices.Sort(out)
	return out, n + "/" + up
}

// runEndpoint resolves, installs the address checks and runs each once.
func runEndpoint(t *testing.T, e *Exporter, c *endpointCheck) {
	t.Helper()
	c.run(context.Background(), e.log, nil)
	e.installMu.Lock()
	e.install()
	e.installMu.Unlock()
	for _, k := range c.children() {
		k.run(context.Background(), e.log, nil)
	}
}

func TestAddressSetFollowsDNS(t *testing.T) {
	res := &switchResolver{}
	res.set(nil, "127.0.0.1", "::1")
	e, c := addrExporter(t, res, "")

	if got, sum := addressSeries(t, e); len(got) != 0 || sum != "-/-" {
		t.Fatalf("before the first resolution: %v %s, want nothing", got, sum)
	}
	runEndpoint(t, e, c)
	got, sum := addressSeries(t, e)
	if want := []string{"127.0.0.1 ipv4 connect", "::1 ipv6 connect"}; !slices.Equal(got, want) || sum != "2/0" {
		t.Errorf("dual stack: %v %s, want %v 2/0", got, sum, want)
	}
	for _, id := range []string{AddressID("mx", "smtp", netip.MustParseAddr("::1")), AddressID("mx", "smtp", netip.MustParseAddr("127.0.0.1"))} {
		if _, ok := e.lookup(id); !ok {
			t.Errorf("no check %s", id)
		}
	}

	// An address removed from DNS stops being exported; a new one starts.
	res.set(nil, "127.0.0.1", "127.0.0.3")
	runEndpoint(t, e, c)
	got, sum = addressSeries(t, e)
	if want := []string{"127.0.0.1 ipv4 connect", "127.0.0.3 ipv4 connect"}; !slices.Equal(got, want) || sum != "2/0" {
		t.Errorf("after the zone changed: %v %s, want %v 2/0", got, sum, want)
	}
	if _, ok := e.lookup(AddressID("mx", "smtp", netip.MustParseAddr("::1"))); ok {
		t.Error("the removed address is still a check")
	}
	if n := e.sched.Len(); n != 4 {
		t.Errorf("scheduler holds %d jobs, want 4 (the endpoint, two addresses, its TLS posture check)", n)
	}

	// A failed resolution: every address last seen reads dns.
	res.set(errors.New("SERVFAIL"))
	runEndpoint(t, e, c)
	got, sum = addressSeries(t, e)
	if want := []string{"127.0.0.1 ipv4 dns", "127.0.0.3 ipv4 dns"}; !slices.Equal(got, want) || sum != "2/0" {
		t.Errorf("resolution failed: %v %s, want %v 2/0", got, sum, want)
	}
	if row := c.status(); row.Result != "dns" || !strings.Contains(row.Reason, "SERVFAIL") {
		t.Errorf("status %+v", row)
	}
}

func TestAddressNeverResolved(t *testing.T) {
	res := &switchResolver{}
	res.set(errors.New("NXDOMAIN"))
	e, c := addrExporter(t, res, "")
	runEndpoint(t, e, c)
	got, sum := addressSeries(t, e)
	if want := []string{"  dns"}; !slices.Equal(got, want) || sum != "1/0" {
		t.Errorf("never resolved: %v %s, want %q 1/0", got, sum, want)
	}
	var b strings.Builder
	if err := e.WriteEndpointText(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`mail_probe_success{address="",endpoint="smtp",family="",host="mx.example.test",`,
		`mail_probe_result_info{address="",endpoint="smtp",family="",host="mx.example.test",port="9",protocol="smtp",result="dns",`,
		`mail_probe_addresses{endpoint="smtp",host="mx.example.test",port="9",protocol="smtp",server="mx",tls="starttls"} 1`,
		`mail_probe_addresses_up{endpoint="smtp",host="mx.example.test",port="9",protocol="smtp",server="mx",tls="starttls"} 0`} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("/metrics lacks %s:\n%s", want, b.String())
		}
	}
	// Once it resolves, the address="" series goes.
	res.set(nil, "::1")
	runEndpoint(t, e, c)
	if got, sum := addressSeries(t, e); !slices.Equal(got, []string{"::1 ipv6 connect"}) || sum != "1/0" {
		t.Errorf("after resolving: %v %s", got, sum)
	}
}

func TestAddressRules(t *testing.T) {
	for _, tc := range []struct{ rule, want string }{
		{"", "127.0.0.1 ::1 127.0.0.2"},
		{"addresses: all, ", "127.0.0.1 ::1 127.0.0.2"},
		{"addresses: ipv4, ", "127.0.0.1 127.0.0.2"},
		{"addresses: ipv6, ", "::1"},
		{"addresses: first, ", "127.0.0.1"},
	} {
		res := &switchResolver{}
		res.set(nil, "127.0.0.1", "::1", "127.0.0.2")
		e, c := addrExporter(t, res, tc.rule)
		c.run(context.Background(), e.log, nil)
		var got []string
		for _, k := range c.children() {
			got = append(got, k.addr.String())
		}
		if strings.Join(got, " ") != tc.want {
			t.Errorf("%q: %v, want %s", tc.rule, got, tc.want)
		}
	}
}
