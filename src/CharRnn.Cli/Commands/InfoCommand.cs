using System.Text;
using CharRnn.Cli.Arguments;
using CharRnn.Cli.Output;
using CharRnn.Fast.IO;
using CharRnn.Fast.Model;
using CharRnn.Fast.Text;
using CharRnn.Fast.Training;

namespace CharRnn.Cli.Commands;

/// <summary><c>charrnn info</c>: what a model file holds.</summary>
internal static class InfoCommand
{
    public static readonly Option[] Options =
    [
        new("model", "FILE", "model or checkpoint (required)"),
        new("json", null, "print one JSON object"),
    ];

    public static string HelpText => Help.For("charrnn info --model FILE [--json]",
        "Shows a model file's cell, layers, the tensors and shapes charrnn writes for the model (PyTorch's state_dict\n" +
        "names and shapes: one trainable bias per gate row in bias_ih; bias_hh zero but for GRU's b_hn in its n rows),\n" +
        "vocabulary, trainable parameter count, nonlinearity, mode, training state (with dropout) and metadata.", Options);

    public static int Run(ParsedArguments a)
    {
        string path = a.String("model") ?? throw new UsageException("--model FILE is required");
        var loaded = Inputs.LoadModel(path);
        var m = loaded.Model;
        int h = m.HiddenSize, v = m.VocabularySize;
        var shapes = m.Parameters.Table.FileTensors().ToArray();
        string preview = string.Concat(m.Vocabulary.Symbols.Take(80).Select(r => Vocabulary.Escape(r.ToString()))) + (v > 80 ? "…" : "");
        var t = loaded.Training;
        if (a.Has("json"))
        {
            JsonLine.Write(w =>
            {
                w.WriteString("event", "info"); w.WriteNumber("vocab_size", v); w.WriteNumber("hidden_size", h); w.WriteString("cell", m.Cell.Name()); w.WriteNumber("layers", m.Layers);
                w.WriteNumber("parameters", m.Parameters.Shape.ParameterCount);
                w.WriteString("nonlinearity", m.Nonlinearity.ToString().ToLowerInvariant()); w.WriteString("mode", m.SequenceMode ? "lines" : "stream");
                w.WriteStartObject("shapes");
                foreach (var (name, shape) in shapes) { w.WriteStartArray(name); foreach (int d in shape) w.WriteNumberValue(d); w.WriteEndArray(); }
                w.WriteEndObject();
                w.WriteStartArray("vocab");
                foreach (var r in m.Vocabulary.Symbols) w.WriteStringValue(r.ToString());
                w.WriteEndArray();
                if (t is not null)
                {
                    w.WriteStartObject("training");
                    w.WriteNumber("step", t.Step); w.WriteNumber("epoch", t.Epoch); w.WriteNumber("cursor", t.Cursor); w.WriteNumber("smooth_loss", t.SmoothLoss);
                    w.WriteString("optimizer", t.Options.Optimizer.ToString().ToLowerInvariant()); w.WriteNumber("lr", t.Options.LearningRate);
                    w.WriteNumber("seq_len", t.Options.SequenceLength); w.WriteNumber("batch", t.Options.BatchSize); w.WriteNumber("threads", t.Options.Threads);
                    w.WriteNumber("dropout", t.Options.Dropout);
                    w.WriteEndObject();
                }
                w.WriteStartObject("metadata");
                foreach (var (k, val) in loaded.Metadata.Where(kv => kv.Key != CheckpointKeys.Vocabulary).OrderBy(kv => kv.Key, StringComparer.Ordinal)) w.WriteString(k, val);
                w.WriteEndObject();
            });
            return 0;
        }
        var sb = new StringBuilder();
        sb.AppendLine($"file         {path}");
        sb.AppendLine($"vocabulary   {v} characters: {preview}");
        string units = m.Cell == CellKind.Rnn ? $"{m.Nonlinearity.ToString().ToLowerInvariant()} units" : "units";
        sb.AppendLine($"model        {m.Cell.Name()}, {m.Layers} layer(s) of {h} {units}; mode {(m.SequenceMode ? "lines (\\n-framed examples)" : "stream")}");
        sb.AppendLine($"parameters   {m.Parameters.Shape.ParameterCount:N0} trainable; the tensors charrnn writes for them:");
        foreach (var (name, shape) in shapes) sb.AppendLine($"  {name,-20} [{string.Join(",", shape)}]");
        if (t is null) sb.AppendLine("training     none stored (a weights-only model)");
        else
        {
            var o = t.Options;
            string alpha = o.Optimizer == OptimizerKind.RmsProp ? $" alpha {o.Alpha}" : "", forget = m.Cell == CellKind.Lstm ? $", forget bias {o.ForgetBias} at init" : "";
            sb.AppendLine($"training     step {t.Step}, epoch {t.Epoch}, smoothed loss {t.SmoothLoss:F4}; {o.Optimizer.ToString().ToLowerInvariant()} lr {o.LearningRate}{alpha}, " +
                $"T {o.SequenceLength}, B {o.BatchSize}, clip {o.ClipValue}, dropout {o.Dropout}{forget}, seed {o.Seed}, {o.Threads} thread(s)");
        }
        foreach (var (k, val) in loaded.Metadata.Where(kv => kv.Key.StartsWith("cli.", StringComparison.Ordinal) || kv.Key == CheckpointKeys.Format))
            sb.AppendLine($"  {k} = {val}");
        Console.Out.Write(sb.ToString());
        return 0;
    }
}
