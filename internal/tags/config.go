package tags

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/common/model"
)

// DefaultRefresh is how often a region's tags are looked up again when the
// configuration does not say: tags change rarely, and the info series keep
// their last known labels in between.
const DefaultRefresh = 5 * time.Minute

// MinRefresh bounds the refresh interval from below: every Lambda
// environment looks up on its own, and the Tagging API is rate limited per
// account.
const MinRefresh = time.Minute

// Config is the `tags:` section of the configuration file.
//
//	tags:
//	  enabled: true
//	  resource_types: [rds:db, ecs:service]   # default: every supported type
//	  refresh: 5m                             # default 5m, at least 1m
//	  include_keys: [Team, Service, Environment]  # regexps, anchored; default all
//	  exclude_keys: ['aws:.*']                # regexps, anchored; applied after include
//	  role_arn: arn:aws:iam::{account}:role/cwstream-tags  # default: own account only
//
// The Tagging API answers only for the caller's account. A stream that
// carries other accounts' metrics (CloudWatch cross-account observability)
// needs role_arn: the role assumed in each of those accounts to look their
// resources up, {account} standing for the account's id. Without it, only
// the function's own account's resources get info series.
type Config struct {
	Enabled       bool           `yaml:"enabled"`
	ResourceTypes []string       `yaml:"resource_types,omitempty"`
	Refresh       model.Duration `yaml:"refresh,omitempty"`
	IncludeKeys   []string       `yaml:"include_keys,omitempty"`
	ExcludeKeys   []string       `yaml:"exclude_keys,omitempty"`
	RoleARN       string         `yaml:"role_arn,omitempty"`
}

// AccountPlaceholder stands for an account's id in Config.RoleARN.
const AccountPlaceholder = "{account}"

// roleARN is what a role ARN looks like once AccountPlaceholder is
// replaced: IAM's format, arn:partition:iam::account:role/path/name, the
// path's parts of printable ASCII, the name of IAM's role name characters
// (IAM API reference, CreateRole: Path and RoleName patterns).
var roleARN = regexp.MustCompile(`^arn:aws(-[a-z]+)*:iam::[0-9]{12}:role/(?:[\x21-\x2e\x30-\x7e]+/)*[\w+=,.@-]{1,64}$`)

// Default returns the section's defaults: off, every supported resource
// type, a refresh every DefaultRefresh, every tag key.
func Default() Config {
	return Config{ResourceTypes: ResourceTypes(), Refresh: model.Duration(DefaultRefresh)}
}

// IsZero makes a section that is off drop out of a marshalled
// configuration: its other settings have no effect.
func (c Config) IsZero() bool { return !c.Enabled }

// UnmarshalYAML sets the defaults before the section is read, so a key left
// out keeps its default and an unknown key is an error.
func (c *Config) UnmarshalYAML(unmarshal func(any) error) error {
	*c = Default()
	type plain Config
	return unmarshal((*plain)(c))
}

// Validate checks c; every message names the key at fault under "tags.".
func (c *Config) Validate() error {
	var errs []error
	if len(c.ResourceTypes) == 0 {
		errs = append(errs, fmt.Errorf("tags.resource_types: empty; list at least one of %s (or leave the key out for all)", strings.Join(ResourceTypes(), ", ")))
	}
	for i, rt := range c.ResourceTypes {
		switch {
		case kindIndex(rt) < 0:
			errs = append(errs, fmt.Errorf("tags.resource_types[%d]: %q is not supported; choose from %s", i, rt, strings.Join(ResourceTypes(), ", ")))
		case slices.Index(c.ResourceTypes, rt) != i:
			errs = append(errs, fmt.Errorf("tags.resource_types[%d]: %q is listed twice", i, rt))
		}
	}
	if r := time.Duration(c.Refresh); r < MinRefresh {
		errs = append(errs, fmt.Errorf("tags.refresh: %s is below the minimum of %s (the Tagging API is rate limited per account, and every Lambda environment looks up on its own)", r, MinRefresh))
	}
	if c.RoleARN != "" {
		switch {
		case strings.Count(c.RoleARN, AccountPlaceholder) != 1 || !strings.HasPrefix(c.RoleARN[strings.Index(c.RoleARN, AccountPlaceholder)+len(AccountPlaceholder):], ":role/"):
			errs = append(errs, fmt.Errorf("tags.role_arn: %q must name the account as %s, once, e.g. arn:aws:iam::%s:role/cwstream-tags", c.RoleARN, AccountPlaceholder, AccountPlaceholder))
		case !roleARN.MatchString(RoleARN(c.RoleARN, "123456789012")):
			errs = append(errs, fmt.Errorf("tags.role_arn: %q is not an IAM role ARN (arn:aws:iam::%s:role/NAME)", c.RoleARN, AccountPlaceholder))
		}
	}
	for _, l := range []struct {
		key  string
		list []string
	}{{"include_keys", c.IncludeKeys}, {"exclude_keys", c.ExcludeKeys}} {
		for i, p := range l.list {
			if _, err := compileKey(p); err != nil {
				errs = append(errs, fmt.Errorf("tags.%s[%d]: %w", l.key, i, err))
			}
		}
	}
	return errors.Join(errs...)
}

func compileKey(p string) (*regexp.Regexp, error) {
	if p == "" {
		return nil, errors.New("empty pattern")
	}
	return regexp.Compile("^(?:" + p + ")$")
}

// keyFilter reports whether a tag key is kept by include_keys and
// exclude_keys; c must be valid.
type keyFilter struct{ include, exclude []*regexp.Regexp }

func newKeyFilter(c *Config) keyFilter {
	var f keyFilter
	compile := func(ps []string) (out []*regexp.Regexp) {
		for _, p := range ps {
			if re, err := compileKey(p); err == nil { // Validate reported the others
				out = append(out, re)
			}
		}
		return out
	}
	f.include, f.exclude = compile(c.IncludeKeys), compile(c.ExcludeKeys)
	return f
}

func (f keyFilter) keep(key string) bool {
	match := func(res []*regexp.Regexp) bool {
		return slices.ContainsFunc(res, func(re *regexp.Regexp) bool { return re.MatchString(key) })
	}
	return (len(f.include) == 0 || match(f.include)) && !match(f.exclude)
}
