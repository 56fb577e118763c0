using NrpHost.Profiling;
using Python.Runtime;

namespace NrpHost.Simulation;

/// <summary>The step-latency profile's Python calls (<c>nrphost/profiling.py</c>); each takes the GIL itself.</summary>
internal sealed partial class ScriptSession
{
    /// <summary>
    /// Makes the profiler for this session's client (call after <see cref="CreateClient"/>): it times every
    /// <c>nrp.run_loop</c> of the script's next run and, with the embedded runtime, every FTI cycle.
    /// </summary>
    public StepProfiler AttachProfiler(string directory, DateTimeOffset now, TimeSpan initialization)
    {
        using (Py.GIL())
        {
            using var profiling = Py.Import("nrphost.profiling");
            using var description = profiling.InvokeMethod("describe", _session);
            using var slots = description[0];
            using var engines = description[1];
            using var functions = description[2];
            using var stamps = profiling.GetAttr("STAMPS");
            var profiler = new StepProfiler(_simulationId, slots.As<int>(), Names(engines), Names(functions))
            {
                NativeStamps = stamps.As<string>() == "native",
            };
            try
            {
                using var host = new PyInt((long)profiler.HostRing.Address);
                using var cycles = new PyInt((long)(profiler.CycleRing?.Address ?? 0));
                using var hostRecords = new PyInt(profiler.HostRing.Records);
                using var cycleRecords = new PyInt(profiler.CycleRing?.Records ?? 0);
                using var origin = profiling.InvokeMethod("attach", _session, host, hostRecords, cycles, cycleRecords);
                profiler.Begin(directory, now, origin.As<double>(), initialization);
                return profiler;
            }
            catch
            {
                profiler.Dispose();
                throw;
            }
        }
    }

    /// <summary>Writes <paramref name="text"/> into the simulation's log (its logger category and <c>simulation_&lt;id&gt;.log</c>).</summary>
    public void WriteToLog(string text)
    {
        using (Py.GIL())
        {
            _session.InvokeMethod("bind_thread").Dispose();
            using var sys = Py.Import("sys");
            using var stdout = sys.GetAttr("stdout");
            using var line = new PyString(text.EndsWith('\n') ? text : text + "\n");
            stdout.InvokeMethod("write", line).Dispose();
            stdout.InvokeMethod("flush").Dispose();
        }
    }

    /// <summary>
    /// Lets go of the profiler's rings (Python no longer writes them); only then may they be freed. False when a view of
    /// their memory outlives this (a script kept one): then they must stay allocated.
    /// </summary>
    public bool DetachProfiler()
    {
        using (Py.GIL())
        {
            using var profiling = Py.Import("nrphost.profiling");
            using var free = profiling.InvokeMethod("detach", _session);
            return free.IsTrue();
        }
    }

    private static string[] Names(PyObject list)
    {
        var names = new string[(int)list.Length()];
        for (var i = 0; i < names.Length; i++)
        {
            using var item = list[i];
            names[i] = item.As<string>();
        }

        return names;
    }
}
