using System.Text.Json;

namespace CharRnn.Cli.Output;

/// <summary>Writes one JSON object per line to stdout (the <c>--json</c> output of every command).</summary>
internal static class JsonLine
{
    private static readonly JsonWriterOptions Options = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static void Write(Action<Utf8JsonWriter> fields)
    {
        var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, Options))
        {
            json.WriteStartObject();
            fields(json);
            json.WriteEndObject();
        }
        var stdout = Console.OpenStandardOutput();
        buffer.WriteByte((byte)'\n');
        stdout.Write(buffer.GetBuffer(), 0, (int)buffer.Length);
        stdout.Flush();
    }
}
