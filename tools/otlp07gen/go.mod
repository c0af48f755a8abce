module github.com/cwstream/cwstream/tools/otlp07gen

go 1.26

require (
	github.com/golang/protobuf v1.5.4
	go.opentelemetry.io/proto/otlp v0.7.0
	google.golang.org/protobuf v1.33.0
)

require (
	github.com/grpc-ecosystem/grpc-gateway v1.16.0 // indirect
	golang.org/x/net v0.0.0-20200822124328-c89045814202 // indirect
	golang.org/x/sys v0.0.0-20200323222414-85ca7c5b95cd // indirect
	golang.org/x/text v0.3.0 // indirect
	google.golang.org/genproto v0.0.0-20200526211855-cb27e3aa2013 // indirect
	google.golang.org/grpc v1.36.0 // indirect
)
