package rules

import (
	"fmt"
	"regexp"

	"go.yaml.in/yaml/v2"
)

// snsTopicARN is the shape of an SNS topic ARN in any partition.
var snsTopicARN = regexp.MustCompile(`^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$`)

// regionName is the shape of an AWS region name.
var regionName = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d$`)

// cdkToken is how the CDK (Go through jsii) renders a value known only at
// deploy time, such as topic.TopicArn() or awscdk.Aws_REGION(); the CDK
// resolves it inside the string it is embedded in.
var cdkToken = regexp.MustCompile(`^\$\{Token\[[A-Za-z0-9_.-]+\]\}$`)

func isCDKToken(s string) bool { return cdkToken.MatchString(s) }

// amConfig is the part of the Alertmanager configuration AMP accepts that we
// use.
type amConfig struct {
	Route     amRoute      `yaml:"route"`
	Receivers []amReceiver `yaml:"receivers"`
}

type amRoute struct {
	Receiver       string    `yaml:"receiver"`
	GroupBy        []string  `yaml:"group_by,omitempty"`
	GroupWait      string    `yaml:"group_wait,omitempty"`
	GroupInterval  string    `yaml:"group_interval,omitempty"`
	RepeatInterval string    `yaml:"repeat_interval,omitempty"`
	Matchers       []string  `yaml:"matchers,omitempty"`
	Continue       bool      `yaml:"continue,omitempty"`
	Routes         []amRoute `yaml:"routes,omitempty"`
}

type amReceiver struct {
	Name       string        `yaml:"name"`
	SNSConfigs []amSNSConfig `yaml:"sns_configs"`
}

type amSNSConfig struct {
	TopicARN     string            `yaml:"topic_arn"`
	SigV4        map[string]string `yaml:"sigv4"`
	Subject      string            `yaml:"subject"`
	Message      string            `yaml:"message"`
	SendResolved bool              `yaml:"send_resolved"`
}

// AlertManagerDefinition returns AMP's alert manager definition (the YAML
// document with alertmanager_config as a string) routing every alert to the
// SNS topic, grouped by environment and severity. topicARN and region may be
// CDK tokens (topic.TopicArn(), awscdk.Aws_REGION()). Critical alerts repeat
// hourly, warnings every 12 hours. The AMP workspace needs sns:Publish on
// the topic (its resource policy must allow aps.amazonaws.com).
func AlertManagerDefinition(topicARN, region string) (string, error) {
	if !snsTopicARN.MatchString(topicARN) && !isCDKToken(topicARN) {
		return "", fmt.Errorf("alert manager definition: %q is not an SNS topic ARN", topicARN)
	}
	if !regionName.MatchString(region) && !isCDKToken(region) {
		return "", fmt.Errorf("alert manager definition: %q is not an AWS region", region)
	}
	cfg := amConfig{
		Route: amRoute{
			Receiver:       "sns",
			GroupBy:        []string{"env", "severity"},
			GroupWait:      "30s",
			GroupInterval:  "5m",
			RepeatInterval: "12h",
			Routes: []amRoute{
				{Receiver: "sns", Matchers: []string{`severity="critical"`}, RepeatInterval: "1h"},
			},
		},
		Receivers: []amReceiver{{
			Name: "sns",
			SNSConfigs: []amSNSConfig{{
				TopicARN: topicARN,
				SigV4:    map[string]string{"region": region},
				// SNS subjects are limited to 100 characters; Alertmanager
				// truncates longer ones.
				Subject: `[{{ .Status | toUpper }}{{ if eq .Status "firing" }}:{{ .Alerts.Firing | len }}{{ end }}] {{ .CommonLabels.env }} {{ .CommonLabels.severity }}: {{ .CommonLabels.alertname }}`,
				Message: `{{ range .Alerts }}{{ .Status | toUpper }} {{ .Labels.alertname }} ({{ .Labels.severity }})
{{ .Annotations.summary }}
{{ .Annotations.description }}
Runbook: {{ .Annotations.runbook_url }}

{{ end }}`,
				SendResolved: true,
			}},
		}},
	}
	inner, err := yaml.Marshal(cfg)
	if err != nil {
		return "", fmt.Errorf("alert manager definition: encode config: %w", err)
	}
	outer, err := yaml.Marshal(map[string]string{"alertmanager_config": string(inner)})
	if err != nil {
		return "", fmt.Errorf("alert manager definition: encode definition: %w", err)
	}
	return string(outer), nil
}
