using NrpHost.Api.Endpoints;
using NrpHost.Api.Messaging;
using NrpHost.DependencyInjection;

var builder = WebApplication.CreateBuilder(args);

builder.Services.AddNrpHost(builder.Configuration).AddMqttStatusWithWebSockets();
builder.Services.AddOpenApi();

var app = builder.Build();

app.UseMqttWebSockets();

app.MapOpenApi();
app.MapVersionEndpoints();
app.MapHealthEndpoints();

app.Run();

/// <summary>The API's entry point; public so tests can start it.</summary>
public partial class Program;
