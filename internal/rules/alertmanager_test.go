package rules

import (
	"strings"
	"testing"

	"go.yaml.in/yaml/v2"
)

func TestAlertManagerDefinition(t *testing.T) {
	const topic = "arn:aws:sns:eu-west-1:123456789012:cwstream-alerts"
	def, err := AlertManagerDefinition(topic, "eu-west-1")
	if err != nil {
		t.Fatal(err)
	}
	// AMP's format: one key, alertmanager_config, holding the
	// Alertmanager configuration as a string.
	var outer map[string]string
	if err := yaml.UnmarshalStrict([]byte(def), &outer); err != nil || len(outer) != 1 || outer["alertmanager_config"] == "" {
		t.Fatalf("definition %q: %v", def, err)
	}
	var cfg amConfig
	if err := yaml.UnmarshalStrict([]byte(outer["alertmanager_config"]), &cfg); err != nil {
		t.Fatalf("alertmanager_config: %v", err)
	}
	if got := strings.Join(cfg.Route.GroupBy, ","); got != "env,severity" {
		t.Errorf("group_by %s, want env,severity", got)
	}
	names := map[string]bool{}
	for _, r := range cfg.Receivers {
		names[r.Name] = true
		for _, s := range r.SNSConfigs {
			if s.TopicARN != topic || s.SigV4["region"] != "eu-west-1" || !s.SendResolved {
				t.Errorf("sns config %+v", s)
			}
		}
	}
	for _, r := range append([]amRoute{cfg.Route}, cfg.Route.Routes...) {
		if !names[r.Receiver] {
			t.Errorf("route to unknown receiver %q", r.Receiver)
		}
	}
}

// TestAlertManagerDefinitionKeepsCDKTokens: the CDK app passes deploy-time
// values as tokens, which must come out unchanged for the CDK to resolve.
func TestAlertManagerDefinitionKeepsCDKTokens(t *testing.T) {
	const topic, region = "${Token[TOKEN.242]}", "${Token[AWS.Region.11]}"
	def, err := AlertManagerDefinition(topic, region)
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{topic, region} {
		if !strings.Contains(def, tok) {
			t.Errorf("definition lost token %s:\n%s", tok, def)
		}
	}
}

func TestAlertManagerDefinitionRejects(t *testing.T) {
	cases := []struct{ name, topic, region, want string }{
		{"not an arn", "cwstream-alerts", "eu-west-1", "SNS topic ARN"},
		{"sqs arn", "arn:aws:sqs:eu-west-1:123456789012:q", "eu-west-1", "SNS topic ARN"},
		{"bad region", "arn:aws:sns:eu-west-1:123456789012:t", "Ireland", "region"},
		{"empty region", "arn:aws:sns:eu-west-1:123456789012:t", "", "region"},
		{"token with text around it", "x${Token[TOKEN.1]}", "eu-west-1", "SNS topic ARN"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := AlertManagerDefinition(c.topic, c.region)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want one naming %s", err, c.want)
			}
		})
	}
}
