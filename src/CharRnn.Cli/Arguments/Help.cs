using System.Text;

namespace CharRnn.Cli.Arguments;

/// <summary>Help text generated from a command's option table, so it lists exactly what the parser accepts.</summary>
internal static class Help
{
    public static string For(string usage, string summary, IReadOnlyList<Option> options, string? notes = null)
    {
        var sb = new StringBuilder();
        sb.Append("usage: ").AppendLine(usage).AppendLine().AppendLine(summary).AppendLine().AppendLine("options:");
        static string Left(Option o) => (o.Short is { } c ? $"-{c}, " : "") + "--" + o.Name + (o.Value is null ? "" : " " + o.Value);
        int width = options.Max(o => Left(o).Length - 2) + 4;
        foreach (var o in options)
        {
            string left = Left(o);
            sb.Append("  ").Append(left.PadRight(width)).AppendLine(o.Help);
        }
        sb.Append("  ").Append("-h, --help".PadRight(width)).AppendLine("show this help");
        if (notes is not null) sb.AppendLine().AppendLine(notes.TrimEnd());
        return sb.ToString();
    }
}
