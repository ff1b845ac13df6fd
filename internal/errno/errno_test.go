package errno

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"testing"
)

func TestOfAndText(t *testing.T) {
	wrapped := fmt.Errorf("open x: %w", &os.PathError{Op: "open", Path: "x", Err: syscall.ENOENT})
	if got := Of(wrapped); got != int(syscall.ENOENT) {
		t.Errorf("Of = %d, want %d", got, syscall.ENOENT)
	}
	if got := Text(wrapped); got != "No such file or directory" {
		t.Errorf("Text = %q", got)
	}
	plain := errors.New("not a system error")
	if Of(plain) != 0 || Text(plain) != "not a system error" {
		t.Errorf("plain error: Of %d, Text %q", Of(plain), Text(plain))
	}
}
