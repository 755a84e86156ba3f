package serve

// ExampleFromSchema exposes the example generator to the external tests.
var ExampleFromSchema = exampleFromSchema
