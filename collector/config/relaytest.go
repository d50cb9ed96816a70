package config

import (
	"strings"
)

// DefaultRelayTestRecipient is relay_test_recipient's default (SPEC 6.1):
// .invalid is reserved (RFC 2606 2), so no server hosts it and nothing
// can be delivered to it, even by an open relay.
const DefaultRelayTestRecipient = "relay-test@example.invalid"

// relaySetting is relay_test and relay_test_recipient as given at one
// level (server or endpoint); set says which were given.
type relaySetting struct {
	on, onSet bool
	rcpt      string
	rcptSet   bool
	onField   field
	rcptField field
}

// relaySetting reads relay_test and relay_test_recipient from fs.
func (p *parser) relaySetting(fs fields) relaySetting {
	var r relaySetting
	if f := fs["relay_test"]; f.present() {
		r.on, r.onSet = p.boolean(f)
		r.onField = f
	}
	if f := fs["relay_test_recipient"]; f.present() {
		if v, ok := p.nonEmpty(f); ok {
			if p.relayRecipient(f, v) {
				r.rcpt, r.rcptSet = v, true
			}
		}
		r.rcptField = f
	}
	return r
}

// relayRecipient checks a relay test recipient: a plain user@domain whose
// domain is a DNS name (the test writes it into a percent-hack and a
// source route, so neither % nor a route may be in it already).
func (p *parser) relayRecipient(f field, v string) bool {
	at := strings.LastIndexByte(v, '@')
	if !isAddress(v) || strings.ContainsAny(v, "%:!") || at < 0 || !isDNSName(v[at+1:]) {
		p.errorf(f.line, f.path, "%q is not an email address at a DNS name (local@domain, without %%, : or !)", v)
		return false
	}
	return true
}

// applyRelay sets the relay test of the endpoints of s: an endpoint's own
// setting wins over the server's. The test applies to smtp-protocol
// endpoints only; asking for it on another is an error.
func (p *parser) applyRelay(s *Server, srv relaySetting, own map[*Endpoint]relaySetting) {
	smtp := 0
	for _, e := range s.Endpoints {
		set := own[e]
		on, rcpt := srv.on, srv.rcpt
		if set.onSet {
			on = set.on
		}
		if set.rcptSet {
			rcpt = set.rcpt
		}
		if e.Protocol != SMTP {
			if set.onSet && set.on {
				p.errorf(set.onField.line, set.onField.path, "endpoint %q speaks %s: the relay test needs an smtp-protocol endpoint", e.Name, e.Protocol)
			}
			continue
		}
		smtp++
		if rcpt == "" {
			rcpt = DefaultRelayTestRecipient
		}
		e.RelayTest, e.RelayTestRecipient = on, rcpt
	}
	if srv.onSet && srv.on && smtp == 0 {
		p.errorf(srv.onField.line, srv.onField.path, "server %q has no smtp-protocol endpoint to run the relay test on", s.Name)
	}
}
