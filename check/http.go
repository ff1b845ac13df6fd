package check

import (
	"context"
	"fmt"

	"keepalived-go/check/httpget"
	"keepalived-go/config"
	"keepalived-go/internal/pcre"
)

func init() {
	for _, k := range []config.CheckerKind{config.HTTPGet, config.SSLGet} {
		register(k, &kind{policy: PolicyHTTP, build: newHTTP, timing: httpTiming, attempt: logHTTPStep,
			logFirstFailure: true,
			success:         "Remote Web server %[1]s succeed on service.",
			down:            "HTTP_CHECK on service %[1]s failed.",
			downAfter:       "HTTP_CHECK on service %[1]s failed after %[3]d retries."})
	}
}

// httpTiming: one step per url; fast_recovery.
func httpTiming(t *Timing, ck *config.Checker) {
	if h := ck.HTTPOpts(); h != nil {
		t.Steps = max(len(h.URLs), 1)
		t.FastRecovery = h.FastRecovery
	}
}

// logHTTPStep logs each url that passed.
func logHTTPStep(e *Engine, c *ckRun, o Outcome, _ error) bool {
	if !o.StepOK {
		return false
	}
	h, ok := c.checker.(*HTTPCheck)
	if !ok || o.Step >= len(h.Targets) {
		return false
	}
	what := "HTTP status code"
	if h.Targets[o.Step].Digest != nil {
		what = "MD5 digest"
	}
	if h.Targets[o.Step].Regex != nil {
		what = "Regex match"
	}
	e.log.Infof("%s success to %s url(%s)", what, c.rs.rsKey, h.Targets[o.Step].Path)
	return false
}

// HTTPCheck is HTTP_GET / SSL_GET: one httpget.Target per url block, one
// url per attempt (keepalived's schedule; see PolicyHTTP).
type HTTPCheck struct {
	Targets []httpget.Target
	reqs    [][]byte // Targets[i].Request(), built once
}

// request is the request of url number step.
func (c *HTTPCheck) request(step int) []byte {
	if len(c.reqs) != len(c.Targets) {
		c.reqs = make([][]byte, len(c.Targets))
		for i := range c.Targets {
			c.reqs[i] = c.Targets[i].Request()
		}
	}
	return c.reqs[step]
}

// MaxBodySize bounds how much of a body an HTTP check reads.
const MaxBodySize = 1 << 20

func newHTTP(ck *config.Checker, env Env) (Checker, error) {
	h := ck.HTTPOpts()
	if h == nil || len(h.URLs) == 0 {
		return nil, fmt.Errorf("%s has no url", ck.Kind)
	}
	proto, err := httpget.ParseProtocol(h.Protocol)
	if err != nil {
		proto = httpget.HTTP10
	}
	co := connOf(ck, env.RS)
	rsVhost, vsVhost := "", ""
	if env.RS != nil {
		rsVhost = env.RS.VirtualHost
	}
	if env.VS != nil {
		vsVhost = env.VS.VirtualHost
	}
	c := &HTTPCheck{}
	for i := range h.URLs {
		u := &h.URLs[i]
		t := httpget.Target{
			Addr:          co.Dst,
			Bind:          co.Bind,
			BindInterface: co.BindIf,
			FWMark:        co.FWMark,
			TLS:           ck.Kind == config.SSLGet,
			TLSConfig:     env.TLS,
			ServerName:    httpget.PickServerName(h.EnableSNI, u.VirtualHost, h.VirtualHost, vsVhost),
			Protocol:      proto,
			Path:          u.Path,
			VirtualHost:   httpget.PickVirtualHost(u.VirtualHost, h.VirtualHost, rsVhost, vsVhost),
			Timeout:       ck.ConnectTimeout,
			MaxBodySize:   MaxBodySize,
			Regex:         newRegex(u, env),
		}
		for _, r := range u.StatusCodes {
			t.StatusCodes.AddRange(r.Min, r.Max)
		}
		if u.Digest != "" {
			d, err := httpget.ParseDigest(u.Digest)
			if err != nil {
				return nil, err
			}
			t.Digest = &d
		}
		c.Targets = append(c.Targets, t)
	}
	return c, nil
}

// Steps is the number of urls.
func (c *HTTPCheck) Steps() int { return len(c.Targets) }

// CheckStep fetches url number step and judges status code and digest.
func (c *HTTPCheck) CheckStep(ctx context.Context, step int) error {
	if step < 0 || step >= len(c.Targets) {
		step = 0
	}
	_, err := httpget.Check(ctx, c.Targets[step])
	if err != nil && isSocketSetup(err) {
		return fmt.Errorf("%w: %w", ErrSocket, err)
	}
	return err
}

// Check fetches every url in turn.
func (c *HTTPCheck) Check(ctx context.Context) error {
	for i := range c.Targets {
		if err := c.CheckStep(ctx, i); err != nil {
			return err
		}
	}
	return nil
}

func isSocketSetup(err error) bool {
	var he *httpget.Error
	return asHTTPError(err, &he) && he.Kind == httpget.ErrSocket
}

// newRegex builds url u's regex check; nil when it has none.
func newRegex(u *config.URL, env Env) *httpget.Regex {
	if !u.HasRegex {
		return nil
	}
	re := &httpget.Regex{
		Pattern:   u.Regex,
		NoMatch:   u.RegexNoMatch,
		MinOffset: u.RegexMinOffset,
		MaxOffset: u.RegexMaxOffset,
		Limits:    pcre.JITStackLimits(pcre.JITStackKiB),
		Log:       env.Log,
	}
	if !u.RegexInvalid {
		// The config compiled it already; an error here cannot differ.
		re.Code, _ = pcre.Compile(u.Regex, u.RegexOptions)
	}
	if u.RegexStack && env.Config != nil {
		// keepalived's JIT stack is one for all urls with regex_stack,
		// sized by the largest max any of them asked for.
		re.Limits = pcre.JITStackLimits(int(min(env.Config.Checker.RegexStackMax, 1<<40) / 1024))
	}
	return re
}
