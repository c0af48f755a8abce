package constructs

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// AlertTopicProps configures an AlertTopic.
type AlertTopicProps struct {
	// Key encrypts the topic; its policy is extended so Publishers can use it.
	Key awskms.IKey
	// Publishers are service principals (e.g. "cloudwatch.amazonaws.com",
	// "aps.amazonaws.com") allowed to publish from this account.
	Publishers []string
	// Email, when set, subscribes one address.
	Email string
}

// AlertTopic is an SNS topic encrypted with a customer-managed key that
// refuses non-TLS publishers.
type AlertTopic struct {
	constructs.Construct
	Topic awssns.Topic
	key   awskms.IKey
}

// NewAlertTopic creates the topic, its policies and the optional e-mail
// subscription.
func NewAlertTopic(scope constructs.Construct, id string, props *AlertTopicProps) *AlertTopic {
	c := constructs.NewConstruct(scope, jsii.String(id))
	topic := awssns.NewTopic(c, jsii.String("Topic"), &awssns.TopicProps{
		MasterKey:  props.Key,
		EnforceSSL: jsii.Bool(true),
	})
	t := &AlertTopic{Construct: c, Topic: topic, key: props.Key}
	for _, svc := range props.Publishers {
		t.AllowService(svc, nil)
	}
	if props.Email != "" {
		topic.AddSubscription(awssnssubscriptions.NewEmailSubscription(jsii.String(props.Email), nil))
	}
	return t
}

// AllowService lets service principal svc publish to the topic on behalf of
// this account and, when sourceArn is set, only of that resource (the
// confused-deputy condition the service documents, e.g. AMP's workspace).
//
// The key statement carries the account condition only: the key policy is
// part of the key resource, and naming a resource that is itself encrypted
// with the key (an AMP workspace with a customer-managed key) would make
// the two depend on each other.
func (t *AlertTopic) AllowService(svc string, sourceArn *string) {
	account := awscdk.Stack_Of(t.Construct).Account()
	sourceAccount := map[string]any{"StringEquals": map[string]any{"aws:SourceAccount": account}}
	topicConditions := map[string]any{"StringEquals": sourceAccount["StringEquals"]}
	if sourceArn != nil {
		topicConditions["ArnEquals"] = map[string]any{"aws:SourceArn": sourceArn}
	}
	t.Topic.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String(svc), nil)},
		Actions:    jsii.Strings("sns:Publish", "sns:GetTopicAttributes"),
		Resources:  &[]*string{t.Topic.TopicArn()},
		Conditions: &topicConditions,
	}))
	// SNS encrypts with the caller's data key, so each publishing service
	// needs these two actions on the key (see the SNS SSE guide).
	t.key.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String(svc), nil)},
		Actions:    jsii.Strings("kms:Decrypt", "kms:GenerateDataKey*"),
		Resources:  jsii.Strings("*"), // in a key policy "*" means this key
		Conditions: &sourceAccount,
	}), jsii.Bool(true))
}
