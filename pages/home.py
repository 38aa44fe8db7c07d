"""Home: what the tool is for, and the one-click quick comparison."""

import streamlit as st

from core import load_spec, run
from ui.jobs_view import follow, submit
from ui.paths import QUICKSTART_SPEC
from ui.results_view import show_results
from ui.state import model_cache

st.title("Tradeoff Lab")
st.markdown(
    "See what model size really buys. Train a large neural network and small classical models on "
    "the same data, compress them, and compare accuracy, latency, memory and parameters measured "
    "by one harness — then pick the model that fits your budget.")

spec = load_spec(QUICKSTART_SPEC)
names = ", ".join(c.name for c in spec.candidates)
st.subheader("Quick comparison")
st.write(f"On scikit-learn's handwritten **digits**: {names}. Takes about 15 seconds.")

if st.button("Run the quick comparison", type="primary"):
    submit("home-job", "Quick comparison", lambda p, s: run(spec, p, s, cache=model_cache()), spec=spec)

job = follow("home-job")
if job is not None:
    if job.status == "failed":
        st.error(f"The quick comparison failed: {job.error}")
    elif job.result is not None:
        st.success(f"Done in {job.elapsed_seconds:.1f} s. Next: pick your own data on the **Data** "
                   "page, or choose models on **Compare**.")
        show_results(job.result, key="home")

st.divider()
c1, c2, c3 = st.columns(3)
c1.markdown("**Data** — a built-in dataset or your CSV, with every cleaning decision shown.")
c2.markdown("**Compare** — large and small models side by side, with the Pareto frontier.")
c3.markdown("**Every figure is measured** — threads, warm-up and repeats are listed with it.")
