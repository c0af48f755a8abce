package main

import (
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
)

// TestAwsSolutionsChecks proves the shipped environments synthesize with no
// unsuppressed cdk-nag AwsSolutions error (BuildApp applies the pack).
func TestAwsSolutionsChecks(t *testing.T) {
	for _, name := range []string{"dev", "prod"} {
		t.Run(name, func(t *testing.T) { checkNag(t, synth(t, name)) })
	}
}

// checkNag fails on any AwsSolutions error in s's stacks.
func checkNag(t *testing.T, s *synthesized) {
	t.Helper()
	check := func(stackName string, a assertions.Annotations) {
		errs := a.FindError(jsii.String("*"), assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*")))
		for _, e := range *errs {
			t.Errorf("%s: %s: %v", stackName, *e.Id, e.Entry.Data)
		}
		warns := a.FindWarning(jsii.String("*"), assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*")))
		for _, w := range *warns {
			t.Logf("warning %s: %s: %v", stackName, *w.Id, w.Entry.Data)
		}
	}
	check(*s.stacks.Workspace.StackName(), assertions.Annotations_FromStack(s.stacks.Workspace.Stack))
	for _, in := range s.stacks.Ingest {
		check(*in.StackName(), assertions.Annotations_FromStack(in.Stack))
	}
	if d := s.stacks.EcsDemo; d != nil {
		check(*d.StackName(), assertions.Annotations_FromStack(d.Stack))
	}
}
