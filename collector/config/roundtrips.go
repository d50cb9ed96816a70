package config

func (p *parser) roundtrips(f field) {
	items, _ := p.list(f)
	first := map[string]int{}
	for _, it := range items {
		fs, ok := p.mapping(it, "name", "send", "receive", "interval", "timeout", "dkim_domain", "trusted_authserv_ids")
		if !ok {
			continue
		}
		r := &Roundtrip{Line: it.line}
		if nf := fs["name"]; !nf.present() {
			p.errorf(it.line, it.path, "name is required")
		} else if r.Name, ok = p.nonEmpty(nf); ok {
			if l, dup := first[r.Name]; dup {
				p.errorf(nf.line, nf.path, "duplicate roundtrip name %q (first at line %d)", r.Name, l)
			} else {
				first[r.Name] = nf.line
			}
		}
		p.send(r, it, fs["send"])
		p.receive(r, it, fs["receive"])
		iv := p.duration(fs["interval"], 3, p.rtInterval)
		to := p.duration(fs["timeout"], 3, dur{d: DefaultRoundtripTimeout, path: "the default"})
		r.Interval, r.Timeout = iv.d, to.d
		p.checkTiming(to, iv)
		p.authentication(r, fs)
		p.cfg.Roundtrips = append(p.cfg.Roundtrips, r)
	}
}

func (p *parser) send(r *Roundtrip, parent, f field) {
	if !f.present() {
		p.errorf(parent.line, parent.path, "send is required")
		return
	}
	fs, ok := p.mapping(f, "server", "endpoint", "from", "to")
	if !ok {
		return
	}
	r.Send.Server, r.Send.Endpoint = p.endpointRef(f, fs, SMTP, "send")
	for _, k := range []string{"from", "to"} {
		if !fs[k].present() {
			p.errorf(f.line, f.path, "%s is required", k)
			continue
		}
		a, ok := p.nonEmpty(fs[k])
		if ok && !isAddress(a) {
			p.errorf(fs[k].line, fs[k].path, "%q is not an email address (local@domain)", a)
		}
		if k == "from" {
			r.Send.From = a
		} else {
			r.Send.To = a
		}
	}
}

func (p *parser) receive(r *Roundtrip, parent, f field) {
	if !f.present() {
		p.errorf(parent.line, parent.path, "receive is required")
		return
	}
	fs, ok := p.mapping(f, "server", "endpoint", "mailbox")
	if !ok {
		return
	}
	s, e := p.endpointRef(f, fs, IMAP, "receive")
	r.Receive.Server, r.Receive.Endpoint = s, e
	if e != nil && e.Credential == nil {
		p.errorf(fs["endpoint"].line, fs["endpoint"].path, "endpoint %q on server %q has no credential: receive needs a login", e.Name, s.Name)
	}
	r.Receive.Mailbox = "INBOX"
	if fs["mailbox"].present() {
		r.Receive.Mailbox, _ = p.nonEmpty(fs["mailbox"])
	}
}

// endpointRef resolves `server:` and `endpoint:` of send or receive.
func (p *parser) endpointRef(f field, fs fields, want Protocol, role string) (*Server, *Endpoint) {
	sf, ef := fs["server"], fs["endpoint"]
	for _, k := range []string{"server", "endpoint"} {
		if !fs[k].present() {
			p.errorf(f.line, f.path, "%s is required", k)
		}
	}
	name, ok := p.nonEmpty(sf)
	if !ok {
		return nil, nil
	}
	s, found := p.cfg.Server(name)
	if !found {
		p.errorf(sf.line, sf.path, "unknown server %q", name)
		return nil, nil
	}
	name, ok = p.nonEmpty(ef)
	if !ok {
		return s, nil
	}
	e, found := s.Endpoint(name)
	switch {
	case !found:
		p.errorf(ef.line, ef.path, "server %q has no endpoint %q", s.Name, name)
		return s, nil
	case e.Protocol != "" && e.Protocol != want:
		p.errorf(ef.line, ef.path, "endpoint %q on server %q speaks %s; %s needs an %s endpoint", name, s.Name, e.Protocol, role, want)
	}
	return s, e
}
