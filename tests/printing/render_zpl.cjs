// Renders ZPL labels to PNG with zpl-renderer-js (an offline ZPL renderer), for the tests.
// stdin: a JSON list of {"zpl", "width_mm", "height_mm", "dpmm", "out"}; one PNG per item.
// The package is found through NODE_PATH (tests/printing/test_zpl_render.py sets it).
const fs = require("fs");
const { ready } = require("zpl-renderer-js");

(async () => {
  const jobs = JSON.parse(fs.readFileSync(0, "utf8"));
  const { api } = await ready;
  for (const job of jobs) {
    const png = await api.zplToBase64Async(job.zpl, job.width_mm, job.height_mm, job.dpmm);
    fs.writeFileSync(job.out, Buffer.from(png, "base64"));
  }
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
