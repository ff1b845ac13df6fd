package main

import (
	"fmt"
	"io"
	"log/syslog"
	"os"
	"strings"

	"github.com/sirupsen/logrus"
)

// keepalivedFormatter prints a message the way keepalived does on the
// console (-l): "Tue Nov 24 23:59:01 2026: (ETH0) Entering MASTER STATE".
// Operators' log alerts match on the message text, which engines keep.
type keepalivedFormatter struct{ console bool }

func (f keepalivedFormatter) Format(e *logrus.Entry) ([]byte, error) {
	if !f.console {
		return []byte(e.Message), nil
	}
	return []byte(e.Time.Format("Mon Jan _2 15:04:05 2006") + ": " + e.Message + "\n"), nil
}

// syslogHook sends every entry to syslog with keepalived's ident.
type syslogHook struct{ w *syslog.Writer }

func (h syslogHook) Levels() []logrus.Level { return logrus.AllLevels }

func (h syslogHook) Fire(e *logrus.Entry) error {
	switch e.Level {
	case logrus.PanicLevel, logrus.FatalLevel, logrus.ErrorLevel:
		return h.w.Err(e.Message)
	case logrus.WarnLevel:
		return h.w.Warning(e.Message)
	case logrus.DebugLevel, logrus.TraceLevel:
		return h.w.Debug(e.Message)
	}
	// keepalived logs nearly everything at LOG_INFO; alerts key on that.
	return h.w.Info(e.Message)
}

var facilities = map[string]syslog.Priority{
	"daemon": syslog.LOG_DAEMON, "user": syslog.LOG_USER,
	"local0": syslog.LOG_LOCAL0, "local1": syslog.LOG_LOCAL1, "local2": syslog.LOG_LOCAL2, "local3": syslog.LOG_LOCAL3,
	"local4": syslog.LOG_LOCAL4, "local5": syslog.LOG_LOCAL5, "local6": syslog.LOG_LOCAL6, "local7": syslog.LOG_LOCAL7,
}

// parseFacility accepts keepalived's -S forms: 0-7 (LOG_LOCAL0-7), localN, user, daemon.
func parseFacility(s string) (syslog.Priority, error) {
	s = strings.ToLower(s)
	if len(s) == 1 && s[0] >= '0' && s[0] <= '7' {
		return facilities["local"+s], nil
	}
	if p, ok := facilities[s]; ok {
		return p, nil
	}
	return 0, fmt.Errorf("invalid log facility '%s'", s)
}

// newLogger builds the daemon's logger from -l, -G, -S and -D.
func newLogger(o options, stderr io.Writer) (*logrus.Logger, error) {
	l := logrus.New()
	l.SetLevel(logrus.InfoLevel)
	if o.logDetail {
		l.SetLevel(logrus.DebugLevel)
	}
	l.SetFormatter(keepalivedFormatter{console: o.logConsole})
	l.SetOutput(io.Discard)
	if o.logConsole {
		l.SetOutput(stderr)
	}
	if !o.noSyslog {
		fac, err := parseFacility(o.logFacility)
		if err != nil {
			return nil, err
		}
		ident := "Keepalived"
		if id := os.Getenv(identEnv); id != "" {
			ident = id // changed before the daemon moved into its namespace
		}
		w, err := syslog.New(fac|syslog.LOG_INFO, ident)
		if err == nil {
			l.AddHook(syslogHook{w})
		} else if !o.logConsole {
			// No syslog socket (containers): fall back to the console
			// rather than losing every message.
			l.SetFormatter(keepalivedFormatter{console: true})
			l.SetOutput(os.Stderr)
		}
	}
	return l, nil
}
