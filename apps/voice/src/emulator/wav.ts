import { createHash } from 'node:crypto'

export const WAV_SAMPLE_RATE = 8000

/**
 * A short call recording, generated: 16-bit mono PCM at 8 kHz (telephone quality), a few
 * voice-like tone bursts whose pitches follow from the seed, so every call has its own and the
 * same call always sounds the same. Nothing is stored; the bytes are made on request.
 */
export function generateWav (seed: string, seconds = 1.6): Buffer {
  const samples = Math.round(seconds * WAV_SAMPLE_RATE)
  const dataBytes = samples * 2
  const out = Buffer.alloc(44 + dataBytes)
  // RIFF header (little-endian throughout).
  out.write('RIFF', 0, 'ascii')
  out.writeUInt32LE(36 + dataBytes, 4)
  out.write('WAVE', 8, 'ascii')
  out.write('fmt ', 12, 'ascii')
  out.writeUInt32LE(16, 16) // fmt chunk size
  out.writeUInt16LE(1, 20) // PCM
  out.writeUInt16LE(1, 22) // mono
  out.writeUInt32LE(WAV_SAMPLE_RATE, 24)
  out.writeUInt32LE(WAV_SAMPLE_RATE * 2, 28) // byte rate
  out.writeUInt16LE(2, 32) // block align
  out.writeUInt16LE(16, 34) // bits per sample
  out.write('data', 36, 'ascii')
  out.writeUInt32LE(dataBytes, 40)

  const hash = createHash('sha256').update(seed).digest()
  const syllables = 5
  const length = Math.floor(samples / syllables)
  for (let s = 0; s < syllables; s++) {
    const pitch = 140 + (hash[s]! % 120) // a speaking voice's range, Hz
    const start = s * length
    const voiced = Math.floor(length * 0.75) // then a short pause
    for (let i = 0; i < voiced; i++) {
      const t = i / WAV_SAMPLE_RATE
      const envelope = Math.sin(Math.PI * i / voiced) // fade in and out: no clicks
      const tone = Math.sin(2 * Math.PI * pitch * t) + 0.5 * Math.sin(4 * Math.PI * pitch * t) + 0.25 * Math.sin(6 * Math.PI * pitch * t)
      out.writeInt16LE(Math.round(tone / 1.75 * envelope * 12_000), 44 + (start + i) * 2)
    }
  }
  return out
}
