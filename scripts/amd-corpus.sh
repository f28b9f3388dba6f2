#!/usr/bin/env bash
# amd-corpus.sh OUT_DIR [--quick]
#
# Generates a labeled corpus for answering-machine detection: 8 kHz mono WAV files (16-bit PCM,
# G.711 µ-law and A-law, in turn) in OUT_DIR/human, OUT_DIR/machine and OUT_DIR/no-speech.
#   human:     short answers ("Hello?", "Yes, hello?", "Hi, this is Anna.", ...), some with a pause
#              and a second "Hello?", then the silence of someone waiting for an answer;
#   machine:   long voicemail greetings, with and without a beep after them;
#   no-speech: dead air, steady and repeated tones, loud noise.
# Speech comes from espeak-ng at several voices, speeds and levels, some over a quiet hiss;
# sox converts and mixes. --quick makes a dozen files (what the tests use).
# Needs: espeak-ng, sox (apt-get install -y espeak-ng sox).
set -euo pipefail

out=${1:?usage: amd-corpus.sh OUT_DIR [--quick]}
quick=${2:-}
for tool in espeak-ng sox; do
  command -v "$tool" >/dev/null || { echo "amd-corpus.sh: $tool is not installed (apt-get install -y espeak-ng sox)" >&2; exit 2; }
done
mkdir -p "$out/human" "$out/machine" "$out/no-speech"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

humans=(
  "Hello?"
  "Yes, hello?"
  "Hi, this is Anna."
  "Hello, who is it?"
  "Yeah?"
)
machines=(
  "Hi, you've reached the Miller family. We can't come to the phone right now, please leave a message after the tone."
  "Hello, you have reached Anna Smith at Acme Insurance. I am away from my desk, please leave your name and number after the beep."
  "The person you are calling is not available. Please leave a message."
  "Hey, it's Tom. Leave a message."
)
if [ "$quick" = "--quick" ]; then
  voices=(en-us en+f3)
  speeds=(175)
  humans=("${humans[@]:0:3}")
  machines=("${machines[@]:0:2}")
else
  voices=(en-us en en-us+f2 en+m3)
  speeds=(150 175 210)
fi
levels=(-3 -12 -20)
encodings=("-e signed-integer -b 16" "-e u-law -b 8" "-e a-law -b 8")

count=0
# write SOURCE_WAV LABEL NAME: converts to 8 kHz mono in the next encoding of the rotation.
write() {
  local encoding=${encodings[$((count % 3))]}
  # shellcheck disable=SC2086
  sox "$1" -r 8000 -c 1 $encoding "$out/$2/$3.wav"
  count=$((count + 1))
}

# speak TEXT VOICE SPEED LEVEL FILE: 8 kHz 16-bit speech at LEVEL dBFS peak.
speak() {
  espeak-ng -v "$2" -s "$3" -w "$work/raw.wav" "$1"
  sox "$work/raw.wav" -r 8000 -c 1 -b 16 -e signed-integer "$5" norm "$4"
}

# hiss DURATION FILE: a background hiss, mean absolute sample about 120 of 32768 (-49 dBFS):
# under the default silence threshold (256), over a threshold of 64.
hiss() { sox -n -r 8000 -c 1 -b 16 -e signed-integer "$2" synth "$1" whitenoise vol 0.02; }

sox -n -r 8000 -c 1 -b 16 -e signed-integer "$work/beep.wav" synth 0.6 sine 1000 vol 0.5
sox -n -r 8000 -c 1 -b 16 -e signed-integer "$work/pause.wav" trim 0 1.2

n=0
for voice in "${voices[@]}"; do
  for speed in "${speeds[@]}"; do
    level=${levels[$((n % 3))]}
    noisy=$((n % 2))
    n=$((n + 1))
    for i in "${!humans[@]}"; do
      speak "${humans[$i]}" "$voice" "$speed" "$level" "$work/h.wav"
      # Picked up after 0.3-0.6 s; some say it twice after a pause; then they wait 4 s.
      if [ $((i % 2)) -eq 1 ] && [ "$quick" != "--quick" ]; then
        sox "$work/h.wav" "$work/pause.wav" "$work/h.wav" "$work/h2.wav" pad 0.$((3 + i)) 4
      else
        sox "$work/h.wav" "$work/h2.wav" pad 0.$((3 + i)) 4
      fi
      name="h$i-${voice//+/_}-s$speed-l${level#-}"
      if [ $noisy -eq 1 ]; then
        hiss "$(soxi -D "$work/h2.wav")" "$work/hiss.wav"
        sox -m "$work/h2.wav" "$work/hiss.wav" "$work/h3.wav"
        write "$work/h3.wav" human "$name-hiss"
      else
        write "$work/h2.wav" human "$name"
      fi
    done
    for i in "${!machines[@]}"; do
      speak "${machines[$i]}" "$voice" "$speed" "$level" "$work/m.wav"
      name="m$i-${voice//+/_}-s$speed-l${level#-}"
      # The greeting 0.5 s after the answer, then (or not) a beep, then the recording's silence.
      sox "$work/m.wav" "$work/m2.wav" pad 0.5 3
      sox "$work/m.wav" "$work/beep.wav" "$work/m3.wav" pad 0.5 3
      if [ $noisy -eq 1 ]; then
        hiss "$(soxi -D "$work/m3.wav")" "$work/hiss.wav"
        sox -m "$work/m3.wav" "$work/hiss.wav" "$work/m4.wav"
        write "$work/m2.wav" machine "$name"
        write "$work/m4.wav" machine "$name-beep-hiss"
      else
        write "$work/m2.wav" machine "$name"
        write "$work/m3.wav" machine "$name-beep"
      fi
    done
  done
done

# No speech at all.
sox -n -r 8000 -c 1 -b 16 -e signed-integer "$work/x.wav" trim 0 6
write "$work/x.wav" no-speech silence
sox -n -r 8000 -c 1 -b 16 -e signed-integer "$work/x.wav" synth 6 sine 440 vol 0.3
write "$work/x.wav" no-speech tone-440
sox -n -r 8000 -c 1 -b 16 -e signed-integer "$work/x.wav" synth 6 whitenoise vol 0.3
write "$work/x.wav" no-speech noise-loud
if [ "$quick" != "--quick" ]; then
  # Ringback (440+480 Hz, 2 s on, 4 s off), fax CNG (1100 Hz, 0.5 s on, 3 s off), a busy beat.
  sox -n -r 8000 -c 1 -b 16 -e signed-integer "$work/on.wav" synth 2 sine 440 sine 480 remix 1-2 vol 0.3
  sox "$work/on.wav" "$work/x.wav" pad 0 4
  write "$work/x.wav" no-speech ringback
  sox -n -r 8000 -c 1 -b 16 -e signed-integer "$work/on.wav" synth 0.5 sine 1100 vol 0.3
  sox "$work/on.wav" "$work/x.wav" pad 0.2 3 repeat 1
  write "$work/x.wav" no-speech fax-cng
  sox -n -r 8000 -c 1 -b 16 -e signed-integer "$work/on.wav" synth 0.5 sine 480 sine 620 remix 1-2 vol 0.3
  sox "$work/on.wav" "$work/x.wav" pad 0 0.5 repeat 5
  write "$work/x.wav" no-speech busy
  hiss 6 "$work/x.wav"
  write "$work/x.wav" no-speech hiss
fi
echo "amd-corpus.sh: $count files in $out (human/, machine/, no-speech/)"
