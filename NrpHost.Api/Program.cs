using NrpHost.Api;

// Everything is set up in NrpHostApi.Build (services, middleware, endpoints), so tests build the same app.
var app = NrpHostApi.Build(args);
app.Run();

/// <summary>The API's entry point; public so tests can start it.</summary>
public partial class Program;
