// Streamlit component (st.components.v2) behind pages/slim_plotly.py: draws one Plotly figure
// with the plotly.js bundle served from static/, loaded once per page.

const BUNDLE = "__BUNDLE__";
// Four corner brackets: the modebar's full-screen button.
const EXPAND = {
  width: 1000, height: 1000,
  path: "M0 0h400v100H100v300H0zM600 0h400v400H900V100H600zM0 600h100v300h300v100H0z"
        + "M900 600h100v400H600V900h300z",
};

function plotly() {
  window.__ecgvizPlotly ??= new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = new URL(BUNDLE, document.baseURI).href;
    const fail = () => {
      window.__ecgvizPlotly = undefined;
      reject(new Error(`plotly.js could not be loaded from ${script.src} `
                       + "(server.enableStaticServing must be on, as in .streamlit/config.toml)"));
    };
    script.onload = () => (window.Plotly ? resolve(window.Plotly) : fail());
    script.onerror = fail;
    document.head.appendChild(script);
  });
  return window.__ecgvizPlotly;
}

// Full screen fills the screen; leaving it restores the figure's height and the page's width.
function onFullScreen(Plotly, gd) {
  const full = document.fullscreenElement === gd;
  Plotly.relayout(gd, full ? { width: window.innerWidth, height: window.innerHeight }
                           : { width: null, height: Number(gd.dataset.height) });
}

export default function ({ data, parentElement }) {
  if (data === null || data === undefined) { plotly().catch(() => {}); return; }   // preload
  let gd = parentElement.querySelector(":scope > div.ecgviz-plotly");
  if (!gd) {
    gd = document.createElement("div");
    gd.className = "ecgviz-plotly";
    gd.style.background = "white";
    parentElement.appendChild(gd);
  }
  const { figure, config } = JSON.parse(data);
  gd.dataset.height = figure.layout.height || 0;
  gd.style.minHeight = `${gd.dataset.height}px`;
  if (config.displayModeBar !== false) {
    config.modeBarButtonsToAdd = [...(config.modeBarButtonsToAdd || []), {
      name: "fullscreen", title: "Full screen", icon: EXPAND,
      click: (el) => (document.fullscreenElement ? document.exitFullscreen() : el.requestFullscreen()),
    }];
  }
  plotly().then((Plotly) => {
    gd.onfullscreenchange = () => onFullScreen(Plotly, gd);
    return Plotly.react(gd, figure.data, figure.layout, config);
  }).catch((err) => { gd.textContent = `The figure could not be drawn: ${err.message}`; });
  return () => { if (window.Plotly) window.Plotly.purge(gd); };
}
