package cfnupdate

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
)

// Schemas answers which properties of a resource type are create-only in a
// region: JSON pointers such as /properties/KmsKeyArn, as the CloudFormation
// registry's resource schemas give them (createOnlyProperties). ok is false
// for a type the schemas do not know.
type Schemas interface {
	CreateOnly(region, typ string) (pointers []string, ok bool)
}

// CfnLintSchemas reads the registry schemas that cfn-lint ships: per region
// data/schemas/providers/<region>.py maps each type to a file under
// data/schemas/resources/. They are read from the installed cfn-lint, the
// same one that lints the templates (infra/check-synth.sh), rather than a
// copy that would drift from it.
type CfnLintSchemas struct {
	dir string // .../cfnlint/data/schemas

	mu      sync.Mutex
	regions map[string]map[string]string // region → type → schema file id
	files   map[string][]string          // schema file id → createOnlyProperties
}

// FindCfnLint returns the schemas of the cfn-lint on PATH: it asks the
// Python interpreter that runs cfn-lint where its package is.
func FindCfnLint() (*CfnLintSchemas, error) {
	python, err := cfnLintPython()
	if err != nil {
		return nil, err
	}
	// find_spec locates the package without importing it (an import of
	// cfnlint loads all its rules: seconds).
	out, err := exec.Command(python, "-c", `import importlib.util as u; print(u.find_spec("cfnlint").submodule_search_locations[0])`).Output()
	if err != nil {
		return nil, fmt.Errorf("cfn-lint's python %s: find cfnlint: %w", python, err)
	}
	return NewCfnLintSchemas(filepath.Join(strings.TrimSpace(string(out)), "data", "schemas"))
}

// cfnLintPython is the interpreter of the cfn-lint script on PATH (its #!
// line), or python3 when cfn-lint is a wrapper (pyenv's shims are bash).
func cfnLintPython() (string, error) {
	script, err := exec.LookPath("cfn-lint")
	if err != nil {
		return "", err
	}
	b, err := os.ReadFile(script)
	if err != nil {
		return "", err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	if interp, ok := strings.CutPrefix(line, "#!"); ok && strings.Contains(interp, "python") {
		f := strings.Fields(interp)
		if filepath.Base(f[0]) == "env" && len(f) > 1 {
			return exec.LookPath(f[1])
		}
		return f[0], nil
	}
	return exec.LookPath("python3")
}

// NewCfnLintSchemas reads schemas from dir, cfn-lint's data/schemas.
func NewCfnLintSchemas(dir string) (*CfnLintSchemas, error) {
	if _, err := os.Stat(filepath.Join(dir, "providers")); err != nil {
		return nil, fmt.Errorf("cfn-lint schemas: %w", err)
	}
	return &CfnLintSchemas{dir: dir, regions: map[string]map[string]string{}, files: map[string][]string{}}, nil
}

// providerLine is one entry of a provider module: "AWS::S3::Bucket": "0123abcd",
var providerLine = regexp.MustCompile(`^\s*"([A-Za-z0-9]+::[A-Za-z0-9]+::[A-Za-z0-9]+)":\s*"([0-9a-f]+)",?\s*$`)

// CreateOnly implements Schemas.
func (s *CfnLintSchemas) CreateOnly(region, typ string) ([]string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	types, err := s.region(region)
	if err != nil {
		return nil, false
	}
	id, ok := types[typ]
	if !ok {
		return nil, false
	}
	if p, ok := s.files[id]; ok {
		return p, true
	}
	b, err := os.ReadFile(filepath.Join(s.dir, "resources", id+".json"))
	if err != nil {
		return nil, false
	}
	var doc struct {
		TypeName             string   `json:"typeName"`
		CreateOnlyProperties []string `json:"createOnlyProperties"`
	}
	if err := json.Unmarshal(b, &doc); err != nil || doc.TypeName != typ {
		return nil, false
	}
	s.files[id] = doc.CreateOnlyProperties
	return doc.CreateOnlyProperties, true
}

func (s *CfnLintSchemas) region(region string) (map[string]string, error) {
	if t, ok := s.regions[region]; ok {
		return t, nil
	}
	path := filepath.Join(s.dir, "providers", strings.ReplaceAll(region, "-", "_")+".py")
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	types := map[string]string{}
	for line := range strings.SplitSeq(string(b), "\n") {
		if m := providerLine.FindStringSubmatch(line); m != nil {
			types[m[1]] = m[2]
		}
	}
	if len(types) == 0 {
		return nil, errors.New(path + ": no resource types")
	}
	s.regions[region] = types
	return types, nil
}
