using System.Text.Json;

namespace CharRnn.Cli.Output;

/// <summary>Writes one JSON object per line to stdout (the <c>--json</c> output of every command).</summary>
internal static class JsonLine
{
    private static readonly JsonWriterOptions Options = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static void Write(Action<Utf8JsonWriter> fields)
    {
        var line = Format(fields);
        var stdout = Console.OpenStandardOutput();
        stdout.Write(line);
        stdout.Flush();
    }

    /// <summary>The object <paramref name="fields"/> write, as UTF-8 ending with a newline.</summary>
    public static byte[] Format(Action<Utf8JsonWriter> fields)
    {
        ArgumentNullException.ThrowIfNull(fields);
        var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, Options))
        {
            json.WriteStartObject();
            fields(json);
            json.WriteEndObject();
        }
        buffer.WriteByte((byte)'\n');
        return buffer.ToArray();
    }
}
