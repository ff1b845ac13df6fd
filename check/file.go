package check

import (
	"context"
	"fmt"
	"math"
	"os"

	"keepalived-go/config"
	"keepalived-go/internal/trackfile"
)

func init() {
	register(config.FileCheck, &kind{policy: PolicyFile, build: newFile, timing: fileTiming})
}

// fileTiming: no probe; the file is re-read often (keepalived uses
// inotify) and its state is known at once.
func fileTiming(t *Timing, _ *config.Checker) {
	t.DelayLoop, t.Warmup, t.Alpha, t.Retry = FilePollInterval, 0, false, 0
	t.AttemptTimeout = FilePollInterval
}

// FileCheck is FILE_CHECK: the number in a track_file, times weight
// (negated with reverse), is added to the real server's weight. With
// weight 0 any non-zero value (reverse: zero) is a fault; a product at or
// below INT32_MIN is a fault too. A missing or empty file reads as 0.
type FileCheck struct {
	Path    string
	Weight  int
	Reverse bool
	read    func(string) ([]byte, error)
}

func newFile(ck *config.Checker, env Env) (Checker, error) {
	if ck.FileOpts() == nil || ck.FileOpts().TrackFile == "" {
		return nil, fmt.Errorf("FILE_CHECK has no track_file")
	}
	c := &FileCheck{Weight: ck.FileOpts().Weight, Reverse: ck.FileOpts().WeightReverse, read: os.ReadFile}
	if env.Config != nil {
		for _, tf := range env.Config.TrackFiles {
			if tf.Name == ck.FileOpts().TrackFile {
				c.Path = tf.File
			}
		}
	}
	if c.Path == "" {
		return nil, fmt.Errorf("FILE_CHECK: track_file %s not found", ck.FileOpts().TrackFile)
	}
	return c, nil
}

// Check reads the file.
func (c *FileCheck) Check(ctx context.Context) error {
	_, err := c.CheckWeight(ctx)
	return err
}

// CheckWeight reads the file and returns the weight delta or ErrFault.
func (c *FileCheck) CheckWeight(context.Context) (int, error) {
	v := int64(0)
	if b, err := c.read(c.Path); err == nil && len(b) > 0 {
		if len(b) > 127 {
			b = b[:127]
		}
		n, ok := trackfile.Parse(string(b))
		if !ok {
			return 0, fmt.Errorf("Invalid number %d read from %s - ignoring", n, c.Path) //nolint:staticcheck // keepalived's text
		}
		v = n
	}
	return FileWeight(v, c.Weight, c.Reverse)
}

// FileWeight maps a track_file value to a weight delta or ErrFault, as
// keepalived's update_track_file_status does for a checker.
func FileWeight(value int64, weight int, reverse bool) (int, error) {
	mult := int64(1)
	if reverse {
		mult = -1
	}
	if weight == 0 {
		if (value != 0) != reverse {
			return 0, fmt.Errorf("%w: value %d", ErrFault, value)
		}
		return 0, nil
	}
	p := value * int64(weight) * mult
	if p <= math.MinInt32 {
		return 0, fmt.Errorf("%w: value %d", ErrFault, value)
	}
	return int(min(p, math.MaxInt32)), nil
}
