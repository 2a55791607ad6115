using System.ComponentModel;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using CharRnn.Fast.Model;

namespace CharRnn.Fast.Tests.Reference;

/// <summary>One character model for PyTorch to run: the reference model, a chunk of data and the training settings.</summary>
/// <param name="Tokens">[T,B] t-major, as <see cref="NaiveStackedRnn.ForwardBackward"/></param>
/// <param name="Dropout">nn.RNN/LSTM/GRU's dropout (PyTorch draws the mask from <paramref name="Seed"/>)</param>
/// <param name="RmsPropSteps">training steps of torch.optim.RMSprop(lr, alpha, eps = 1e-8) from the same start</param>
public sealed record TorchCase(string Name, NaiveStackedRnn Model, int[] Tokens, int[] Targets, int Steps, int Batch, NaiveState Start,
    double Dropout, int Seed, double RmsPropRate, double RmsPropAlpha, int RmsPropSteps);

/// <summary>What PyTorch computed for a <see cref="TorchCase"/>, in the reference's layouts.</summary>
/// <param name="Logits">[T,B,V]</param>
/// <param name="Loss">cross-entropy summed over time, averaged over streams (the reference's LossSum / B)</param>
/// <param name="Gradients">by PyTorch's parameter name (rnn.weight_ih_l0 …)</param>
/// <param name="DropoutMask">[L−1,T,B,H], values 0 or 1/(1−p); null without dropout</param>
/// <param name="AfterRmsProp">the parameters after the RMSprop steps, by name</param>
public sealed record TorchResult(double[] Logits, double Loss, IReadOnlyDictionary<string, double[]> Gradients, NaiveState StartGradient,
    NaiveState Final, double[]? DropoutMask, IReadOnlyDictionary<string, double[]> AfterRmsProp);

/// <summary>
/// Runs torch_oracle.py (embedded in this assembly) with Debian's /usr/bin/python3 and its python3-torch, in float64.
/// Throws with a message that says what to install when torch cannot be imported: the comparison never passes by
/// being skipped.
/// </summary>
public static class TorchOracle
{
    public const string Python = "/usr/bin/python3";

    public static IReadOnlyList<TorchResult> Run(IReadOnlyList<TorchCase> cases)
    {
        var directory = Directory.CreateTempSubdirectory("charrnn-torch-");
        try
        {
            string script = Path.Combine(directory.FullName, "torch_oracle.py"), input = Path.Combine(directory.FullName, "cases.json");
            using (var resource = typeof(TorchOracle).Assembly.GetManifestResourceStream("torch_oracle.py")!)
            using (var file = File.Create(script)) resource.CopyTo(file);
            File.WriteAllText(input, JsonSerializer.Serialize(cases.Select(Describe).ToArray()));
            var lines = RunPython(script, input).Split('\n', StringSplitOptions.RemoveEmptyEntries);
            if (lines.Length != cases.Count) throw new InvalidOperationException($"torch_oracle.py printed {lines.Length} results for {cases.Count} cases");
            return cases.Zip(lines, Parse).ToArray();
        }
        finally { directory.Delete(recursive: true); }
    }

    private static Dictionary<string, object?> Describe(TorchCase c) => new()
    {
        ["name"] = c.Name,
        ["cell"] = c.Model.Cell.Name(),
        ["nonlinearity"] = c.Model.Act == Nonlinearity.Tanh ? "tanh" : "relu",
        ["layers"] = c.Model.Layers,
        ["vocab"] = c.Model.I,
        ["hidden"] = c.Model.H,
        ["steps"] = c.Steps,
        ["batch"] = c.Batch,
        ["tokens"] = c.Tokens,
        ["targets"] = c.Targets,
        ["h0"] = c.Start.H,
        ["c0"] = c.Start.C,
        ["dropout"] = c.Dropout,
        ["seed"] = c.Seed,
        ["params"] = c.Model.P.Names.Zip(c.Model.P.All).ToDictionary(p => p.First, p => p.Second),
        ["rmsprop_lr"] = c.RmsPropRate,
        ["rmsprop_alpha"] = c.RmsPropAlpha,
        ["rmsprop_steps"] = c.RmsPropSteps,
    };

    private static TorchResult Parse(TorchCase c, string line)
    {
        using var json = JsonDocument.Parse(line);
        var root = json.RootElement;
        double[]? Array(string name) => root.GetProperty(name).ValueKind == JsonValueKind.Null ? null
            : root.GetProperty(name).EnumerateArray().Select(v => v.GetDouble()).ToArray();
        Dictionary<string, double[]> Named(string name) => root.GetProperty(name).EnumerateObject()
            .ToDictionary(p => p.Name, p => p.Value.EnumerateArray().Select(v => v.GetDouble()).ToArray());
        var masks = Array("masks")!;
        return new TorchResult(Array("logits")!, root.GetProperty("loss").GetDouble(), Named("grads"),
            new NaiveState(Array("h0_grad")!, Array("c0_grad")), new NaiveState(Array("hn")!, Array("cn")),
            masks.Length == 0 ? null : masks, Named("after_rmsprop"));
    }

    private static string RunPython(string script, string input)
    {
        var info = new ProcessStartInfo(Python)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardOutputEncoding = Encoding.UTF8,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(script);
        info.ArgumentList.Add(input);
        Process process;
        try { process = Process.Start(info)!; }
        catch (Win32Exception e) { throw new InvalidOperationException($"PyTorch comparison needs {Python} with Debian's python3-torch: {e.Message}", e); }
        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(600_000))
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException($"{Python} torch_oracle.py did not finish in 600 s");
            }
            if (process.ExitCode != 0)
            {
                string error = stderr.Result;
                string hint = error.Contains("No module named 'torch'", StringComparison.Ordinal)
                    ? $"PyTorch is not importable by {Python}: install Debian's python3-torch (apt-get install python3-torch). "
                    : "";
                throw new InvalidOperationException($"{hint}torch_oracle.py exited with {process.ExitCode}:\n{error}");
            }
            return stdout.Result;
        }
    }
}
