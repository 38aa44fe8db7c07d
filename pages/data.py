"""Data: pick a built-in dataset or upload a CSV; see what the loader did with it."""

import dataclasses

import plotly.express as px
import streamlit as st

from core.data import DataError, read_table
from ui.forms import dataset_form
from ui.i18n import language, t
from ui.state import current_dataset, load_dataset, set_dataset

st.title(t("data.title"))
st.write(t("data.intro"))

spec = dataset_form(current_dataset())
if spec is None:
    st.stop()

try:
    frame, target, _ = read_table(spec)  # its notes are among the dataset's decisions
    if spec.name == "csv":
        columns = list(frame.columns)
        chosen = st.selectbox(t("data.target"), columns,
                              index=columns.index(spec.target or columns[-1]))
        spec = dataclasses.replace(spec, target=chosen)
        target = chosen
    dataset = load_dataset(spec)
except DataError as exc:
    st.error(t("data.unusable", error=exc.text(language())))
    st.stop()

set_dataset(spec)
c1, c2, c3, c4 = st.columns(4)
c1.metric(t("data.train_rows"), len(dataset.y_train))
c2.metric(t("data.test_rows"), len(dataset.y_test))
c3.metric(t("data.features"), dataset.n_features)
c4.metric(t("data.classes"), dataset.n_classes)

st.subheader(t("data.what_loader_did"))
for line in dataset.decisions_in(language()):
    st.markdown(f"- {line}")

left, right = st.columns([3, 2])
with left:
    st.subheader(t("data.first_rows"))
    st.dataframe(frame.head(20), hide_index=True)
with right:
    counts = frame[target].dropna().astype(str).value_counts().sort_index()
    fig = px.bar(x=counts.index, y=counts.values, labels={"x": target, "y": t("data.rows")},
                 title=t("data.balance", n=len(counts)))
    st.plotly_chart(fig, key="balance")

st.subheader(t("data.summary"))
st.dataframe(frame.drop(columns=target).describe(include="all").T, key="summary")
