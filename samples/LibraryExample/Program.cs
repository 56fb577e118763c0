using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using NrpHost.Simulation;

// Experiments are the folders of ./experiments (or NrpHost:Storage:LocalRoot); tf_exchange ships with NrpHost.
var builder = Host.CreateApplicationBuilder(args);
builder.Services.AddNrpHost(builder.Configuration); // .AddMqttStatus() would also publish status over MQTT
using var host = builder.Build();
await host.StartAsync();

var simulations = host.Services.GetRequiredService<ISimulationManager>();
simulations.StateChanged += (_, e) => Console.WriteLine(
    $"simulation {e.Simulation.Id}: {e.Previous?.ToWireName() ?? "new"} -> {e.Simulation.State.ToWireName()}");

var created = await simulations.CreateAsync(new SimulationRequest("tf_exchange"));
if (!created.IsReady)
{
    Console.Error.WriteLine($"tf_exchange was not created ({created.Status}): {created.Message}");
    return 1;
}

// Ready means staged, initialised and paused: start it and wait until its script has run to the end.
var id = created.Simulation!.Id;
await simulations.RequestStateAsync(id, SimulationState.Started);
var done = await simulations.WaitForStateAsync(id, SimulationState.Completed, TimeSpan.FromMinutes(1));
Console.WriteLine($"simulation {id} is {done!.State.ToWireName()} after {done.Clock.SimulationTime:0.00} s of simulated time");

// Stopping archives its logs into the experiment folder and frees the host for the next simulation.
await simulations.RequestStateAsync(id, SimulationState.Stopped);
await host.StopAsync();
return 0;
