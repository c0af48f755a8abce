package constructs

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/cwstream/cwstream/internal/lambdaenv"
)

// Names inside the staged asset directory: Lambda runs `bootstrap` for
// provided.al2023, and the function reads its configuration from
// $LAMBDA_TASK_ROOT/cwstream.yaml, the name it looks for by default.
const (
	BootstrapName  = "bootstrap"
	ConfigFileName = lambdaenv.DefaultConfigName
)

// MissingBootstrapError says the function binary has not been built.
type MissingBootstrapError struct{ Path string }

func (e *MissingBootstrapError) Error() string {
	return fmt.Sprintf("lambda asset %s is missing: run `make lambda` first (it builds the linux/arm64 bootstrap)", e.Path)
}

// StageFunctionAsset lays out dir as the ingest function's deployment
// package: bootstrap (mode 0755) and the environment's cwstream.yaml. It
// replaces whatever dir held, so a stale config file is never shipped.
func StageFunctionAsset(dir, bootstrap, configFile string) error {
	if err := StageBootstrap(dir, bootstrap); err != nil {
		return err
	}
	if err := copyFile(filepath.Join(dir, ConfigFileName), configFile, 0o644); err != nil {
		return fmt.Errorf("stage function asset: %w", err)
	}
	return nil
}

// StageBootstrap lays out dir as a deployment package holding only
// bootstrap (mode 0755), replacing whatever dir held. Staging a copy, rather
// than pointing the asset at build/lambda/NAME, keeps anything else that
// lands in the build directory out of the package and its hash.
func StageBootstrap(dir, bootstrap string) error {
	fi, err := os.Stat(bootstrap)
	if errors.Is(err, fs.ErrNotExist) {
		return &MissingBootstrapError{Path: bootstrap}
	}
	if err != nil {
		return fmt.Errorf("stage function asset: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("stage function asset: %s is not a regular file", bootstrap)
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("stage function asset: clear %s: %w", dir, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("stage function asset: %w", err)
	}
	if err := copyFile(filepath.Join(dir, BootstrapName), bootstrap, 0o755); err != nil {
		return fmt.Errorf("stage function asset: %w", err)
	}
	return nil
}

func copyFile(dst, src string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copy %s to %s: %w", src, dst, err)
	}
	// An explicit chmod: OpenFile's mode is filtered by the umask, and Lambda
	// needs bootstrap executable for everyone.
	if err := out.Chmod(mode); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
