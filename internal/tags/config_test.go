package tags

import (
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v2"
)

func parseConfig(t testing.TB, s string) *Config {
	t.Helper()
	var c Config
	if err := yaml.UnmarshalStrict([]byte(s), &c); err != nil {
		t.Fatal(err)
	}
	return &c
}

func TestConfig(t *testing.T) {
	tests := []struct {
		name, yaml, wantErr string
	}{
		{"defaults", "enabled: true", ""},
		{"full", "enabled: true\nresource_types: [rds:db, ecs:service]\nrefresh: 15m\ninclude_keys: [Team]\nexclude_keys: ['aws:.*']", ""},
		{"unknown type", "resource_types: [ec2:instance]", `tags.resource_types[0]: "ec2:instance" is not supported`},
		{"twice", "resource_types: [rds:db, rds:db]", `tags.resource_types[1]: "rds:db" is listed twice`},
		{"empty types", "resource_types: []", "tags.resource_types: empty"},
		{"refresh too short", "refresh: 30s", "tags.refresh: 30s is below the minimum"},
		{"bad include", "include_keys: ['(']", "tags.include_keys[0]: error parsing regexp"},
		{"empty exclude", "exclude_keys: ['']", "tags.exclude_keys[0]: empty pattern"},
		{"role", "role_arn: 'arn:aws:iam::{account}:role/cwstream-tags'", ""},
		{"role with a path, other partition", "role_arn: 'arn:aws-us-gov:iam::{account}:role/ops/cwstream-tags'", ""},
		{"role without the account", "role_arn: 'arn:aws:iam::123456789012:role/cwstream-tags'", `tags.role_arn: "arn:aws:iam::123456789012:role/cwstream-tags" must name the account as {account}, once`},
		{"role with the account twice", "role_arn: 'arn:aws:iam::{account}:role/{account}'", "must name the account as {account}, once"},
		{"account elsewhere", "role_arn: 'arn:aws:iam::123456789012:role/{account}'", "must name the account as {account}, once"},
		{"not a role", "role_arn: 'arn:aws:iam::{account}:user/cwstream'", "must name the account as {account}, once"},
		{"not IAM", "role_arn: 'arn:aws:sts::{account}:role/cwstream'", "is not an IAM role ARN"},
		{"no name", "role_arn: 'arn:aws:iam::{account}:role/'", "is not an IAM role ARN"},
		{"a path and no name", "role_arn: 'arn:aws:iam::{account}:role/ops/'", "is not an IAM role ARN"},
		{"an empty path part", "role_arn: 'arn:aws:iam::{account}:role//cwstream'", "is not an IAM role ARN"},
		{"a path of other printable characters", "role_arn: 'arn:aws:iam::{account}:role/team#1/cwstream-tags'", ""},
		{"a name too long", "role_arn: 'arn:aws:iam::{account}:role/" + strings.Repeat("n", 65) + "'", "is not an IAM role ARN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := parseConfig(t, tt.yaml).Validate()
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("Validate() = %v, want %q", err, tt.wantErr)
			}
		})
	}
	c := parseConfig(t, "enabled: true")
	if time.Duration(c.Refresh) != 5*time.Minute || len(c.ResourceTypes) != 6 {
		t.Errorf("defaults: %+v", c)
	}
	if err := yaml.UnmarshalStrict([]byte("enabeld: true"), &Config{}); err == nil {
		t.Error("an unknown key was accepted")
	}
}
