# dup_lib.sh: the clips the duplicate-check tests share (test_dup_service.sh,
# test_browser_dup.sh), named by the ids the checks use. Not a test itself
# (the CTest glob only takes test_*.sh). Needs ffmpeg with libx264.

# make_clips DIR: the clips of the cases, named by the ids the checks use.
ORIG=11111111-1111-4111-8111-111111111111
COPY=22222222-2222-4222-8222-222222222222
SAMEPIC=33333333-3333-4333-8333-333333333333
OTHER=44444444-4444-4444-8444-444444444444
SAMEBYTES=55555555-5555-4555-8555-555555555555
COPY2=66666666-6666-4666-8666-666666666666
COPY3=77777777-7777-4777-8777-777777777777
make_clips() {
  local d=$1
  local m1="aevalsrc=0.4*sin(2*PI*(300+200*mod(floor(t*3)\,5))*t)+0.2*sin(2*PI*(900-100*mod(floor(t*5)\,7))*t):s=22050"
  local m2="aevalsrc=0.4*sin(2*PI*(500+150*mod(floor(t*4)\,6))*t)+0.2*sin(2*PI*(1300-120*mod(floor(t*2)\,5))*t):s=22050"
  local ff=(ffmpeg -nostdin -loglevel error -y)
  "${ff[@]}" -f lavfi -i "testsrc2=size=320x240:rate=25" -f lavfi -i "$m1" -t 8 -pix_fmt yuv420p \
    -c:v libx264 -preset veryfast -c:a aac "$d/$ORIG.mp4" &&
    "${ff[@]}" -i "$d/$ORIG.mp4" -vf scale=240:180 -c:v libx264 -crf 32 -preset veryfast \
      -c:a aac -b:a 64k "$d/$COPY.mp4" &&
    "${ff[@]}" -i "$d/$ORIG.mp4" -f lavfi -i "$m2" -map 0:v -map 1:a -t 8 -c:v copy -c:a aac \
      "$d/$SAMEPIC.mp4" &&
    "${ff[@]}" -f lavfi -i "mandelbrot=size=320x240:rate=25" -f lavfi -i "anoisesrc=d=8:c=pink:r=22050:a=0.3" \
      -t 8 -pix_fmt yuv420p -c:v libx264 -preset veryfast -c:a aac "$d/$OTHER.mp4" &&
    "${ff[@]}" -i "$d/$ORIG.mp4" -vf "crop=300:220,scale=320:240" -c:v libx264 -crf 28 \
      -preset veryfast -c:a aac -b:a 96k "$d/$COPY2.mp4" &&
    "${ff[@]}" -i "$d/$ORIG.mp4" -vf scale=200:150 -c:v libx264 -crf 36 -preset veryfast \
      -c:a aac -b:a 48k "$d/$COPY3.mp4" &&
    cp "$d/$ORIG.mp4" "$d/$SAMEBYTES.mp4" &&
    echo "this is not a video" >"$d/notes.mp4"
}
