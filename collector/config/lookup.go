package config

// Server returns the server with the given name.
func (c *Config) Server(name string) (*Server, bool) {
	if c == nil {
		return nil, false
	}
	for _, s := range c.Servers {
		if s.Name == name {
			return s, true
		}
	}
	return nil, false
}

// Endpoint returns a server and one of its endpoints, by name: what
// /probe?server=S&endpoint=E looks up.
func (c *Config) Endpoint(server, endpoint string) (*Server, *Endpoint, bool) {
	s, ok := c.Server(server)
	if !ok {
		return nil, nil, false
	}
	e, ok := s.Endpoint(endpoint)
	if !ok {
		return nil, nil, false
	}
	return s, e, true
}

// Domain returns the domain with the given name; case and a trailing dot
// do not matter.
func (c *Config) Domain(name string) (*Domain, bool) {
	if c == nil {
		return nil, false
	}
	name = normalizeDomain(name)
	for _, d := range c.Domains {
		if d.Domain == name {
			return d, true
		}
	}
	return nil, false
}

// Roundtrip returns the roundtrip with the given name.
func (c *Config) Roundtrip(name string) (*Roundtrip, bool) {
	if c == nil {
		return nil, false
	}
	for _, r := range c.Roundtrips {
		if r.Name == name {
			return r, true
		}
	}
	return nil, false
}

// Endpoint returns the server's endpoint with the given name.
func (s *Server) Endpoint(name string) (*Endpoint, bool) {
	if s == nil {
		return nil, false
	}
	for _, e := range s.Endpoints {
		if e.Name == name {
			return e, true
		}
	}
	return nil, false
}
